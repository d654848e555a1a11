"""Each front door is steppable: the S3, SNS and function-URL paths, a streamed response and a handler's call to
another function have their own components on the diagram, every step of their scenes draws, and the hops light
the lines that join the components."""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.engine.vocabulary import ACTIONS

pytest.importorskip("ipywidgets")
from lambdalab.widgets import ArchitectureDiagram, Stepper  # noqa: E402
from lambdalab.widgets.layout import architecture_graph, hop_edge  # noqa: E402

STREAM = "import time\ndef handler(event, context):\n    for i in range(2):\n        time.sleep(0.2)\n" \
         "        yield str(i)\n"
CALLER = "import lambdalab as ll\ndef handler(event, context):\n" \
         "    return ll.client('lambda').invoke(FunctionName='worker')['StatusCode']\n"


@pytest.fixture(scope="module")
def scenes():
    lab = ll.Lab(seed=9)
    lab.create_function("worker", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
    lab.create_function("stream", STREAM)
    lab.create_function("caller", CALLER)
    lam, s3, sns = lab.client("lambda"), lab.client("s3"), lab.client("sns")
    for principal in ("s3.amazonaws.com", "sns.amazonaws.com"):
        lam.add_permission(FunctionName="worker", StatementId=principal.split(".")[0], Action="lambda:InvokeFunction",
                           Principal=principal)
    lam.add_permission(FunctionName="worker", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    url = lam.create_function_url_config(FunctionName="worker", AuthType="NONE")["FunctionUrl"]
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": lab.control_plane.function_arn("worker"),
                                          "Events": ["s3:ObjectCreated:*"]}]})
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=lab.control_plane.function_arn("worker"))
    out = {}
    with lab.scene("a function URL request") as out["url"]:
        lab.http("GET", url)
    with lab.scene("an S3 upload") as out["s3"]:
        s3.put_object(Bucket="uploads", Key="a.txt", Body=b"x")
        lab.advance(5)
    with lab.scene("an SNS message") as out["sns"]:
        sns.publish(TopicArn=topic, Message="hi")
        lab.advance(5)
    with lab.scene("a streamed response") as out["stream"]:
        for _ in lam.invoke_with_response_stream(FunctionName="stream")["EventStream"]:
            pass
    with lab.scene("a function calling a function") as out["call"]:
        lam.invoke(FunctionName="caller")
    return out


@pytest.mark.parametrize("name", ["url", "s3", "sns", "stream", "call"])
def test_every_step_draws_with_a_known_component_and_action(scenes, name):
    scene = scenes[name]
    graph = architecture_graph()
    assert len(scene) > 5
    for step in scene.steps:
        assert step.action in ACTIONS[step.component], (step.component, step.action)
        assert graph.has_node(step.component) or step.component in ("worker", "environment")
    stepper = Stepper(scene)
    for _ in range(len(scene) - 1):
        stepper.step()
    assert stepper.position == len(scene) - 1


@pytest.mark.parametrize("name, component, action, line", [
    ("url", "client", "http", ("client", "url")),
    ("url", "url", "invoke", ("url", "frontend")),
    ("s3", "s3", "notify", ("s3", "frontend")),
    ("sns", "sns", "deliver", ("sns", "frontend")),
    ("stream", "frontend", "stream", ("client", "frontend")),
])
def test_front_door_hops_light_their_lines(scenes, name, component, action, line):
    scene = scenes[name]
    position = next(i for i, s in enumerate(scene.steps) if (s.component, s.action) == (component, action))
    diagram = ArchitectureDiagram(scene, position=position)
    hop = hop_edge(diagram.graph, diagram.index.hops[position])
    assert hop is not None and set(hop) == set(line)


def test_the_stepper_says_the_time_to_first_byte(scenes):
    scene = scenes["stream"]
    first = next(i for i, s in enumerate(scene.steps) if (s.component, s.action) == ("frontend", "stream"))
    stepper = Stepper(scene)
    stepper.goto(first)
    assert "time to first byte" in stepper.current.text
