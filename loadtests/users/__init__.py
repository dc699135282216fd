"""The locust users, one module per scenario (see base.py). Never imported by the
orchestrator: importing locust patches the whole process with gevent."""
