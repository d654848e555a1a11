"""Waiters with botocore's names; waiting advances virtual time between polls instead of sleeping."""
from __future__ import annotations

from ..control_plane.errors import ClientError

__all__ = ["Waiter", "WaiterError"]

WAITERS = {
    # name: (operation, delay s, max attempts, path to the status, success values, failure values)
    "function_active_v2": ("get_function", 1, 300, ("Configuration", "State"), {"Active"}, {"Failed"}),
    "function_active": ("get_function_configuration", 5, 60, ("State",), {"Active"}, {"Failed"}),
    "function_updated_v2": ("get_function", 1, 300, ("Configuration", "LastUpdateStatus"), {"Successful"},
                            {"Failed"}),
    "function_updated": ("get_function_configuration", 5, 60, ("LastUpdateStatus",), {"Successful"}, {"Failed"}),
    "function_exists": ("get_function", 1, 20, None, None, None),
    "published_version_active": ("get_function_configuration", 5, 312, ("State",), {"Active"}, {"Failed"}),
}


class WaiterError(Exception):
    def __init__(self, name: str, reason: str, last_response) -> None:
        super().__init__(f"Waiter {name} failed: {reason}")
        self.name, self.reason, self.last_response = name, reason, last_response


class Waiter:
    def __init__(self, client, name: str) -> None:
        if name not in WAITERS:
            raise ValueError(f"Waiter does not exist: {name}; lambdalab has {', '.join(WAITERS)}")
        self.client, self.name = client, name

    def wait(self, WaiterConfig: dict | None = None, **params) -> None:
        operation, delay, attempts, path, success, failure = WAITERS[self.name]
        config = WaiterConfig or {}
        delay, attempts = config.get("Delay", delay), config.get("MaxAttempts", attempts)
        lab = self.client._lab
        response = None
        for attempt in range(attempts):
            try:
                response = getattr(self.client, operation)(**params)
            except ClientError as error:
                if self.name == "function_exists" and error.code == "ResourceNotFoundException":
                    lab.advance(delay)
                    continue
                raise WaiterError(self.name, f"An error occurred ({error.code}): {error.message}", error.response)
            if path is None:
                return
            value = response
            for key in path:
                value = value.get(key)
            if value in success:
                return
            if value in failure:
                raise WaiterError(self.name, f'Waiter encountered a terminal failure state: For expression '
                                  f'"{".".join(path)}" we matched expected path: "{value}"', response)
            lab.advance(delay)
        raise WaiterError(self.name, "Max attempts exceeded", response)
