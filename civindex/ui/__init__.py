"""Streamlit glue. Only this package and pages/ import streamlit."""
