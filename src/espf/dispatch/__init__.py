"""Delivery: claim due work, POST it to the Application, record outcomes."""
