"""`order.associate-dicom`: the status `Ассоциация DICOM` with the study's link, set once."""

from __future__ import annotations

import pytest

from adapter.consumer.dependencies import Dependencies
from adapter.consumer.handlers import associate_dicom
from adapter.messages.outcomes import CommandSucceeded
from adapter.oncor.errors import OncorRejected
from adapter.oncor.status import STATUS_DICOM_ASSOCIATED, STATUS_PROCESSING_STARTED
from tests.support.consumer_parts import alone, dependencies, received
from tests.support.memory_oncor import MemoryOncor

LINK = "https://pacs.example/study/1.2.3"


async def associate(deps: Dependencies, order_id: str, link: str = LINK) -> CommandSucceeded:
    command = received("order.associate-dicom", {"order_id": order_id, "ris_dicom": link})
    return await associate_dicom(command, deps, alone())


async def associated_order() -> tuple[MemoryOncor, Dependencies, str]:
    """An order associated once with LINK."""
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    outcome = await associate(deps, order_id)
    assert outcome.record_id == order_id
    return oncor, deps, order_id


async def test_association_sets_the_status_with_the_study_link() -> None:
    oncor, _, order_id = await associated_order()
    status = await oncor.get_instance_status(order_id)
    assert status.status == STATUS_DICOM_ASSOCIATED
    assert status.fields()["ris_dicom"] == LINK


async def test_resent_association_does_not_set_the_status_again() -> None:
    oncor, deps, order_id = await associated_order()
    await associate(deps, order_id)
    assert oncor.calls.count("update_instance_status") == 1


async def test_resent_association_does_not_pull_an_order_that_moved_on_back() -> None:
    oncor, deps, order_id = await associated_order()
    await oncor.update_instance_status(order_id, STATUS_PROCESSING_STARTED)
    await associate(deps, order_id)
    assert oncor.status_of(order_id) == STATUS_PROCESSING_STARTED


async def test_association_with_another_study_link_is_set() -> None:
    oncor, deps, order_id = await associated_order()
    await associate(deps, order_id, "https://pacs.example/study/9")
    status = await oncor.get_instance_status(order_id)
    assert status.fields()["ris_dicom"] == "https://pacs.example/study/9"
    assert len(status.history) == 1


async def test_association_of_an_unknown_order_is_refused_by_oncor() -> None:
    oncor = MemoryOncor()
    deps = await dependencies(oncor)
    with pytest.raises(OncorRejected):
        await associate(deps, "#30:404")
    assert oncor.writes() == []
