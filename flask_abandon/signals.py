"""Signals sent at the turning points of a journey, for hosts and tests.

Each is sent with the model as sender, after the change is committed::

    from flask_abandon import signals

    @signals.reminder_sent.connect
    def log_reminder(reminder, **extra):
        ...
"""

from blinker import Namespace

_signals = Namespace()

#: A journey went idle and its reminders were planned.
journey_abandoned = _signals.signal("journey-abandoned")
#: A journey was purchased, booked or submitted; ``recovered`` says whether a
#: reminder led there.
journey_completed = _signals.signal("journey-completed")
#: A reminder email was handed to the mail server.
reminder_sent = _signals.signal("reminder-sent")
#: A reminder was not sent; ``reason`` says why.
reminder_skipped = _signals.signal("reminder-skipped")
#: A contact unsubscribed; sent with the contact.
contact_unsubscribed = _signals.signal("contact-unsubscribed")
