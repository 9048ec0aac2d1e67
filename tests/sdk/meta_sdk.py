"""Meta's official Python SDK (facebook-business) talking to Kickin's Meta-compatible
endpoint. Nothing here is Kickin-specific but the Graph host and the access token (a
Kickin API key): the events, the request and the error handling are the SDK's own.

Environment: KICKIN_BASE (e.g. http://127.0.0.1:8080), KICKIN_KEY (an API key with
scope ingest), KICKIN_PIXEL (the pixel id of the tenant's Meta destination),
KICKIN_EVENT_ID (the event id of the purchase to send twice).
Prints one line per step; exits non-zero on the first failed assertion.
"""

import json
import os
import sys
import time

from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession

BASE = os.environ["KICKIN_BASE"]
KEY = os.environ["KICKIN_KEY"]
PIXEL = os.environ["KICKIN_PIXEL"]
EVENT_ID = os.environ["KICKIN_EVENT_ID"]

# The one change a CAPI integration makes: its Graph host.
FacebookSession.GRAPH = BASE


def use_token(token):
    # crash_log=False: the SDK would otherwise report exceptions to Meta.
    FacebookAdsApi.init(access_token=token, crash_log=False)


def purchase(event_id, event_time=None):
    user_data = UserData(
        emails=["Jane.Doe@Example.com"],
        phones=["+1 (555) 010-0000"],
        client_ip_address="203.0.113.9",
        client_user_agent="Mozilla/5.0 (facebook-business SDK test)",
    )
    custom_data = CustomData(value=129.99, currency="usd", order_id="sdk-order")
    return Event(
        event_name="Purchase",
        event_time=event_time or int(time.time()),
        event_id=event_id,
        event_source_url="https://shop.example/thanks",
        action_source=ActionSource.WEBSITE,
        user_data=user_data,
        custom_data=custom_data,
    )


def send(events):
    return EventRequest(events=events, pixel_id=PIXEL).execute()


def expect_error(events, code, mentions=None):
    try:
        send(events)
    except FacebookRequestError as e:
        assert e.api_error_code() == code, (e.api_error_code(), e.body())
        assert e.http_status() == 400, (e.http_status(), e.body())
        assert e.api_error_type() == "OAuthException", e.body()
        if mentions:
            assert mentions in json.dumps(e.body()), e.body()
        return e
    raise AssertionError(f"expected code {code}, the request was accepted")


def main():
    use_token(KEY)
    first = send([purchase(EVENT_ID)])
    assert first.events_received == 1, first
    assert first.messages == [], first
    assert first.fbtrace_id, first
    print("sent: events_received=1")

    again = send([purchase(EVENT_ID)])
    assert again.events_received == 1, again
    print("resent: events_received=1 (a duplicate still counts as received)")

    use_token("kk_not_a_kickin_key")
    expect_error([purchase(EVENT_ID + "-bad-key")], 190)
    print("bad key: code 190")

    use_token(KEY)
    future = purchase(EVENT_ID + "-future", event_time=int(time.time()) + 86400)
    expect_error([purchase(EVENT_ID + "-good"), future], 100, mentions="data[1].event_time")
    print("bad event: code 100 naming data[1].event_time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
