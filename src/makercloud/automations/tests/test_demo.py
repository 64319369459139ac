"""The demo world's automations and scenes: there for Zhao Lei and María García, and seeded once."""

from makercloud.automations.models import Automation, Scene
from makercloud.web import demo


def test_the_demo_people_have_automations_and_scenes_once(db: None) -> None:
    demo.seed(say=lambda line: None)
    demo.seed(say=lambda line: None)
    by_person = sorted(Automation.objects.values_list("owner__email", "trigger_kind"))
    assert by_person == [("maria.garcia@demo.makercloud.local", "schedule"),
                         ("maria.garcia@demo.makercloud.local", "threshold"),
                         ("zhao.lei@demo.makercloud.local", "event")]
    assert sorted(Scene.objects.values_list("name", flat=True)) == ["Quick wash", "Sleep"]
    morning = Automation.objects.get(trigger_kind="schedule")
    assert morning.next_run_at is not None and morning.next_run_at.minute == 0
