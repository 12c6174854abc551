"""`order.associate-dicom`: the status `Ассоциация DICOM` with the study's link, set once."""

from __future__ import annotations

from adapter.consumer.handlers import associate_dicom
from adapter.oncor.status import STATUS_DICOM_ASSOCIATED, STATUS_PROCESSING_STARTED
from tests.support.consumer_parts import dependencies, received
from tests.support.memory_oncor import MemoryOncor

LINK = "https://pacs.example/study/1.2.3"


def association(order_id: str, link: str = LINK):  # type: ignore[no-untyped-def]
    return received("order.associate-dicom", {"order_id": order_id, "ris_dicom": link})


async def test_association_sets_the_status_with_the_study_link() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    assert order.id
    outcome = await associate_dicom(association(order.id), await dependencies(oncor))
    status = await oncor.get_instance_status(order.id)
    assert status.status == STATUS_DICOM_ASSOCIATED
    assert status.fields()["ris_dicom"] == LINK
    assert outcome.record_id == order.id


async def test_resent_association_does_not_set_the_status_again() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    assert order.id
    deps = await dependencies(oncor)
    await associate_dicom(association(order.id), deps)
    await associate_dicom(
        association(
            order.id,
        ),
        deps,
    )
    assert oncor.calls.count("update_instance_status") == 1


async def test_resent_association_does_not_pull_an_order_that_moved_on_back() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    assert order.id
    deps = await dependencies(oncor)
    await associate_dicom(association(order.id), deps)
    await oncor.update_instance_status(order.id, STATUS_PROCESSING_STARTED)
    await associate_dicom(association(order.id), deps)
    assert oncor.status_of(order.id) == STATUS_PROCESSING_STARTED


async def test_association_with_another_study_link_is_set() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    assert order.id
    deps = await dependencies(oncor)
    await associate_dicom(association(order.id), deps)
    await associate_dicom(association(order.id, "https://pacs.example/study/9"), deps)
    status = await oncor.get_instance_status(order.id)
    assert status.fields()["ris_dicom"] == "https://pacs.example/study/9"
    assert len(status.history) == 1
