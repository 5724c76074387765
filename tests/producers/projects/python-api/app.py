"""A small internal API with the weaknesses Bosun's producer suite expects scanners to find."""
import hashlib
import pickle
import sqlite3
import subprocess

import yaml

DB_PASSWORD = "hunter2-not-a-real-password"


def run_report(name):
    # command injection: a shell runs whatever `name` holds
    return subprocess.call("generate-report " + name, shell=True)


def archive(path):
    return subprocess.call("tar czf backup.tgz " + path, shell=True)


def fingerprint(data):
    return hashlib.md5(data).hexdigest()


def checksum(data):
    return hashlib.md5(data).hexdigest()


def load_settings(text):
    return yaml.load(text)


def restore(blob):
    return pickle.loads(blob)


def find_user(conn: sqlite3.Connection, name):
    query = "SELECT * FROM users WHERE name = '%s'" % name
    return conn.execute(query).fetchall()


def debug_eval(expression):
    return eval(expression)
