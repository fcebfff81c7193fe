"""Alerts of the server: raised once per key until they change, delivered to every configured channel.

`channels` knows the channel kinds (DingTalk signed robot, WeCom robot, email, webhook); `store`
raises alerts and keeps their deliveries (retried with backoff); `reconciliation` turns the
reconciliation rows into alerts; `schedule` runs it every 15 minutes on one worker.
"""
