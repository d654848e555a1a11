"""Checks for labs/07_runtime_api_and_custom_runtimes.ipynb: the Runtime API's answers and its telemetry.

The lab's code (a bash + curl bootstrap, a bash extension, a Python telemetry extension) lives here too, so the
notebook generator and the tests use the same text.
"""
from __future__ import annotations

from . import register, words

#: Section 3: a custom runtime in bash + curl. It echoes the event back, upper-casing the "name" field.
BOOTSTRAP = r'''#!/bin/bash
# A custom runtime: get an event, answer it, repeat. Everything a runtime does is in this loop.
set -u
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "bootstrap: Init done, asking for work"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"              # blocks until there is an invoke
  REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
  echo "bootstrap: got $REQUEST_ID: $EVENT"
  if [ "$EVENT" = '{"fail": true}' ]; then
    curl -sS -X POST "$API/invocation/$REQUEST_ID/error" \
         -H "Lambda-Runtime-Function-Error-Type: Function.Refused" \
         -d '{"errorMessage": "I was asked to fail", "errorType": "Function.Refused"}' > /dev/null
  else
    curl -sS -X POST "$API/invocation/$REQUEST_ID/response" -d "{\"you_sent\": $EVENT}" > /dev/null
  fi
done
'''

#: Section 5: an external extension in bash + curl that registers and logs every event it receives.
LOGGER_EXTENSION = r'''#!/bin/bash
# An external extension: register for events, then log each one until SHUTDOWN.
API="http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension"
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -X POST "$API/register" -H "Lambda-Extension-Name: logger" \
     -d '{"events": ["INVOKE", "SHUTDOWN"]}' > /dev/null
ID="$(grep -i '^Lambda-Extension-Identifier:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
while true; do
  EVENT="$(curl -sS -H "Lambda-Extension-Identifier: $ID" "$API/event/next")"   # blocks until an event
  echo "[logger] $EVENT"
  case "$EVENT" in *SHUTDOWN*) exit 0 ;; esac
done
'''

#: Section 6: an extension that subscribes to the Telemetry API and prints the event types of each batch.
TELEMETRY_EXTENSION = r'''#!/usr/bin/env python3
"""A telemetry extension: listen on a local port, subscribe, print what arrives."""
import http.client, json, os, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
api = http.client.HTTPConnection(host, int(port))

class Batches(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print("[telemetry] batch:", ", ".join(event["type"] for event in batch), flush=True)
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

listener = HTTPServer(("127.0.0.1", 0), Batches)
threading.Thread(target=listener.serve_forever, daemon=True).start()
api.request("POST", "/2020-01-01/extension/register", body=json.dumps({"events": ["SHUTDOWN"]}),
            headers={"Lambda-Extension-Name": "telemetry"})
reply = api.getresponse(); reply.read()
me = reply.getheader("Lambda-Extension-Identifier")
subscription = {"schemaVersion": "2022-12-13", "types": ["platform", "function"],
                "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
                "destination": {"protocol": "HTTP",
                                "URI": f"http://sandbox.localdomain:{listener.server_port}/telemetry"}}
api.request("PUT", "/2022-07-01/telemetry", body=json.dumps(subscription),
            headers={"Lambda-Extension-Identifier": me})
reply = api.getresponse(); reply.read()
print("[telemetry] subscribe ->", reply.status, flush=True)
while True:
    api.request("GET", "/2020-01-01/extension/event/next", headers={"Lambda-Extension-Identifier": me})
    event = json.loads(api.getresponse().read())
    if event["eventType"] == "SHUTDOWN":
        break
'''


def _status(value) -> int:
    return int(str(value).strip().split()[0])


register(
    "lab07.wrong_id_status",
    verify=lambda v: _status(v) == 400,
    hint=["Run the cell above the exercise: it POSTs a response for an invocation id that does not exist. The "
          "first thing call() prints is the HTTP status the Runtime API answered with.",
          "A status in the 4xx range means the request itself was at fault. Which 4xx says 'your request is "
          "malformed or names the wrong thing', rather than 'not allowed now' or 'not found'?",
          "Read the body printed after the status: its errorType says the request id was invalid. The status "
          "that goes with an invalid request is the plain 'Bad Request' one."],
    right=[400, "400"],
    wrong=[403, 404, 202],
    explain="an id that is not the invocation in progress is a bad request: 400 with errorType InvalidRequestID.",
)

register(
    "lab07.second_response_status",
    verify=lambda v: _status(v) == 403,
    hint=["Run the cell above: it answers one invocation twice and prints both replies. The first one is the "
          "202 you expect; copy the status of the second one.",
          "The id is right this time, so it is not the invalid-request status of exercise 1. The runtime is in "
          "the wrong state for a second answer: which 4xx means 'you may not do that now'?",
          "Look at the errorType printed with the second answer, InvalidStateTransition: the Runtime API "
          "answers it with the 'Forbidden' status."],
    right=[403, "403 Forbidden"],
    wrong=[400, 202, 409],
    explain="the id is right but the runtime already answered: posting again is a state transition the Runtime "
            "API does not allow (403 InvalidStateTransition).",
)

register(
    "lab07.request_id_header",
    verify=lambda v: words(v).replace(" ", "-") == "lambda-runtime-aws-request-id",
    hint=["Open the BOOTSTRAP script of section 3 and find the line that sets REQUEST_ID.",
          "That line greps one header out of the file curl wrote with -D: the response headers of /next.",
          "Copy the header name between '^' and ':' in that grep (its case does not matter)."],
    right=["Lambda-Runtime-Aws-Request-Id", "lambda-runtime-aws-request-id"],
    wrong=["Lambda-Runtime-Trace-Id", "x-amzn-RequestId", "RequestId"],
    explain="/next carries the event in its body and its metadata in Lambda-Runtime-* headers; the request id "
            "is the one the runtime must put in the path of its response.",
)

register(
    "lab07.runtime_done_event",
    verify=lambda v: words(v).replace(" ", ".") == "platform.runtimedone",
    hint=["Look at the [telemetry] batch lines the extension printed in section 6: each lists event types.",
          "Put them in the order of one invoke: platform.start, then the event sent when the runtime has "
          "posted its answer, then platform.report.",
          "Its name says the runtime is done: platform.runtime... (mind the capital letter)."],
    right=["platform.runtimeDone"],
    wrong=["platform.start", "platform.report", "function"],
    explain="platform.runtimeDone marks the moment the runtime answered; platform.report (with the billed "
            "duration) follows when the invoke phase is completely over.",
)
