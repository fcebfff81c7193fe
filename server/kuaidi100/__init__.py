"""Kuaidi100 (快递100): its carrier codes and state codes, the e-waybill (电子面单 V2) and
subscription (订阅) clients, and the background jobs that call them."""
