"""This project's own functions: the names its xlwings UDFs give Excel."""
