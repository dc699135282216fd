"""The echo-with-delay app, once as WSGI (Flask) and once as ASGI (FastAPI).

`contract` owns every byte the apps answer; the app modules only adapt it.
"""
