"""The two ways a write to Kafka fails, as a consumer must tell them apart."""

from __future__ import annotations


class PublishFailed(Exception):
    """The broker did not take a write (unreachable, not authorised, timed out).

    Moving on to the next record cannot fix that, so it is the one fatal error of a consumer: the
    runner stops without committing the record, and a restart resumes from it."""


class RecordRejected(ValueError):
    """This one record cannot be written (too large for the broker): the record is at fault, not Kafka,
    so the consumer dead-letters the input and goes on."""
