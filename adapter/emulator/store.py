"""The emulated registry's records: patients, orders, documents, their statuses, attachments."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER_CLASS = "RcTm66Order"
ATTACHMENT_CLUSTER = 1587

# Who writes through the API in the docs' examples (status updates, documents).
API_USER_ID = "#961:97"
API_ORG_UNIT_ID = "#993:29"
# Who creates orders in ONCOR's UI (the RecordsPage example).
CLINICIAN_USER_ID = "#961:0"
CLINICIAN_ORG_UNIT_ID = "#999:28"

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class StatusEntry:
    """One InstanceStatus of a record: the parsed status json and who set it when."""

    fields: JsonObject
    user_id: str
    time: str

    @property
    def json_text(self) -> str:
        # ONCOR accepts a lenient JSON-ish string but answers with strict JSON.
        return json.dumps(self.fields, ensure_ascii=False)

    def instance_status(self, rc_id: str) -> JsonObject:
        return {"json": self.json_text, "rc_id": rc_id, "user_id": self.user_id, "time": self.time}


@dataclass
class Record:
    """An Rc: an order or a document. `rc` is its JSON without the current instance_status."""

    rc: JsonObject
    created: datetime
    statuses: list[StatusEntry] = field(default_factory=list)  # oldest first, current last
    status_updates: int = 0  # calls of /rc/updateInstanceStatus, not document side effects

    @property
    def id(self) -> str:
        return str(self.rc["id"])

    @property
    def class_name(self) -> str:
        return str(self.rc["class_name"])

    @property
    def current_status(self) -> StatusEntry | None:
        return self.statuses[-1] if self.statuses else None

    def set_status(self, fields: JsonObject, user_id: str, time: str) -> StatusEntry:
        entry = StatusEntry(fields=fields, user_id=user_id, time=time)
        self.statuses.append(entry)
        return entry

    def to_rc(self) -> JsonObject:
        current = self.current_status
        if current is None:
            return self.rc
        return {**self.rc, "instance_status": current.json_text}


@dataclass(frozen=True)
class Attachment:
    id: str
    name: str
    type: str
    created: str
    data: bytes
    digest: str  # sha1 hex of data, as ONCOR's Attachment.digest

    def meta(self) -> JsonObject:
        return {
            "id": self.id,
            "digest": self.digest,
            "name": self.name,
            "type": self.type,
            "size": len(self.data),
            "created": self.created,
        }


class Store:
    """Records by ORID. Positions only grow, even across clear(), so an id is never reused."""

    def __init__(self) -> None:
        self.patients: dict[str, JsonObject] = {}
        self.records: dict[str, Record] = {}
        self.attachments: dict[str, Attachment] = {}
        self._next_position: dict[int, int] = {}
        #: records by EHR, oldest first: rc/getList without a scan of every record, which cost
        #: the benchmark's emulator more CPU per command than the adapter under test
        self._by_ehr: dict[str, list[Record]] = {}

    def clear(self) -> None:
        self.patients.clear()
        self.records.clear()
        self.attachments.clear()
        self._by_ehr.clear()

    def new_orid(self, cluster: int) -> str:
        position = self._next_position.get(cluster, 0)
        self._next_position[cluster] = position + 1
        return f"#{cluster}:{position}"

    def add_record(self, rc: JsonObject, created: datetime) -> Record:
        record = Record(rc=rc, created=created)
        self.records[record.id] = record
        ehr_id = rc.get("ehr_id")
        if isinstance(ehr_id, str):
            self._by_ehr.setdefault(ehr_id, []).append(record)
        return record

    def of_ehr(self, ehr_id: str) -> list[Record]:
        return self._by_ehr.get(ehr_id, [])

    def add_attachment(self, name: str, media_type: str, data: bytes, created: str) -> Attachment:
        attachment = Attachment(
            id=self.new_orid(ATTACHMENT_CLUSTER),
            name=name,
            type=media_type,
            created=created,
            data=data,
            digest=hashlib.sha1(data).hexdigest(),
        )
        self.attachments[attachment.id] = attachment
        return attachment

    def order(self, orid: str) -> Record | None:
        record = self.records.get(orid)
        return record if record is not None and record.class_name == ORDER_CLASS else None

    def orders(self) -> list[Record]:
        return [record for record in self.records.values() if record.class_name == ORDER_CLASS]

    def documents(self) -> list[Record]:
        return [record for record in self.records.values() if record.class_name != ORDER_CLASS]
