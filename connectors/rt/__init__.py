"""Request Tracker 5: REST 2 client, setup, polling and write-back."""
