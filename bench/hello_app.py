"""The baseline of bench/portal.py: the least a Flask app under the same gunicorn can do per request."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello, world"
