"""The code behind each book page, one module named after the page."""
