"""The vault in a web browser (``vault ui``): on the top floor, beside the CLI.

``server`` binds 127.0.0.1 and runs uvicorn; ``guard`` lets in only the
browser that holds this run's token (sessions, CSRF, security headers);
``keeper`` holds the unlocked vault in memory; ``app`` has the routes and
``jobs`` the work done in the background (storing files, backing up).
Templates and the one script and style sheet are package data: the page
fetches nothing from anywhere else.
"""
