import sys

from civindex.cli import main

sys.exit(main())
