"""The synthetic organization's people and things: projects, users, service accounts and API keys.

Built once from the seed and the size. Besides ordinary keys it holds the special cases the tracker
must survive: a key whose name is HTML (names are user input), a key with no usage, a key that was
deleted (its id shows up in old usage but not in the directory), a key created part-way through the
period, and an archived project whose keys stopped when it was archived (keys its users own there
report `owner_project_access: "inactive"`). Each project has one or two vector stores (`vs_...`),
which file search calls name and whose storage is billed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from simulator.hashing import stable_hash, token

HOUR = 3600
DAY = 86400
MEBIBYTE = 2**20  # sizes in whole MiB keep storage amounts short decimals (bytes / 2^30 GiB)
XSS_NAME = "<img src=x onerror=alert(1)>"

_PROJECT_NAMES = (
    "Default project",
    "Customer Support",
    "Search",
    "Data Platform",
    "Internal Tools",
    "Research",
    "Mobile App",
    "Marketing",
    "Voice",
    "Legacy Chatbot",
)
_FIRST = ("Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Radia", "Dennis", "Frances")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Perlman", "Ritchie")
_PURPOSES = (
    "support-bot",
    "search-indexer",
    "ci-evals",
    "nightly-batch",
    "chat-frontend",
    "data-labeling",
    "summarizer",
    "translation",
    "agent-runner",
    "analytics",
    "voice-assistant",
    "doc-qa",
    "triage",
    "code-review",
)
_ENVS = ("prod", "staging", "dev")


@dataclass(frozen=True, slots=True)
class User:
    """An organization member (`user-...`); `role` is owner or reader."""

    id: str
    name: str
    email: str
    role: str
    added_at: int

    def as_json(self) -> dict[str, Any]:
        """The `organization.user` object."""
        return {
            "object": "organization.user",
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "added_at": self.added_at,
        }


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A project service account (`svc_acct_...`), the owner of machine keys."""

    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Project:
    """A project (`proj_...`); archived projects keep their keys but stop using them."""

    id: str
    name: str
    created_at: int
    archived_at: int | None

    def as_json(self) -> dict[str, Any]:
        """The `organization.project` object."""
        return {
            "id": self.id,
            "object": "organization.project",
            "name": self.name,
            "created_at": self.created_at,
            "archived_at": self.archived_at,
            "status": "archived" if self.archived_at is not None else "active",
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A project API key. `listed` is False for the deleted key; traffic flows only while
    `active_from <= t < active_until` (None: still in use)."""

    id: str
    name: str
    redacted_value: str
    project_id: str
    created_at: int
    owner: User | ServiceAccount
    listed: bool
    active_from: int
    active_until: int | None
    owner_access: str = "active"  # owner_project_access: "active" or "inactive"

    @property
    def user_id(self) -> str | None:
        """The user usage rows carry for this key: its owner, or None for a service account."""
        return self.owner.id if isinstance(self.owner, User) else None

    def as_json(self, last_used_at: int | None) -> dict[str, Any]:
        """The `organization.project.api_key` object."""
        owner: dict[str, Any]
        if isinstance(self.owner, User):
            user = self.owner
            owner = {
                "type": "user",
                "user": {
                    "object": "organization.project.user",
                    "id": user.id,
                    "name": user.name,
                    "email": user.email,
                    "role": "owner" if user.role == "owner" else "member",
                    # the SDK's owner user has created_at (openai==3.51.0); added_at stays for older readers
                    "created_at": user.added_at,
                    "added_at": user.added_at,
                },
            }
        else:
            account = self.owner
            owner = {
                "type": "service_account",
                "service_account": {
                    "object": "organization.project.service_account",
                    "id": account.id,
                    "name": account.name,
                    "role": "member",
                    "created_at": account.created_at,
                },
            }
        return {
            "object": "organization.project.api_key",
            "id": self.id,
            "name": self.name,
            "redacted_value": self.redacted_value,
            "created_at": self.created_at,
            "last_used_at": last_used_at,
            "owner": owner,
            "owner_project_access": self.owner_access,
            "expires_at": None,
        }


@dataclass(frozen=True, slots=True)
class VectorStore:
    """A project's vector store (`vs_...`): its size grows linearly from `base_bytes` at the origin."""

    id: str
    project_id: str
    base_bytes: int
    daily_growth: int
    until: int | None  # the project's archive time: storage is deleted then

    def size_on(self, day_index: int) -> int:
        """Bytes stored on the `day_index`-th day after the origin."""
        return self.base_bytes + self.daily_growth * day_index


@dataclass(frozen=True, slots=True)
class Directory:
    """Everything the directory endpoints list, plus the ids of the special keys."""

    projects: tuple[Project, ...]
    users: tuple[User, ...]
    keys: tuple[ApiKey, ...]  # every key that ever had traffic or is listed, deleted one included
    xss_key_id: str
    quiet_key_id: str
    deleted_key_id: str
    spike_key_id: str
    new_key_id: str | None
    vector_stores: tuple[VectorStore, ...] = ()

    def project(self, project_id: str) -> Project | None:
        """The project with this id, or None."""
        return next((p for p in self.projects if p.id == project_id), None)

    def listed_keys(self, project_id: str) -> list[ApiKey]:
        """The keys the project's api_keys endpoint lists, oldest first."""
        keys = [k for k in self.keys if k.listed and k.project_id == project_id]
        return sorted(keys, key=lambda k: (k.created_at, k.id))


def build_directory(
    seed: int, *, n_keys: int, n_projects: int, n_users: int, origin: int, days: int
) -> Directory:
    """The directory of the organization whose data starts at `origin` (a UTC midnight)."""
    users = tuple(_user(seed, i, n_users, origin) for i in range(n_users))
    projects = tuple(_project(seed, i, n_projects, origin, days) for i in range(n_projects))
    accounts = {p.id: _service_account(seed, p) for p in projects}
    keys: list[ApiKey] = []
    archived_ids = {p.id for p in projects if p.archived_at is not None}
    for i in range(n_keys):
        is_new = i == n_keys - 1 and n_keys >= 5
        project = projects[0 if is_new else i % n_projects]  # project 0 is never archived
        owner: User | ServiceAccount
        owner = accounts[project.id] if i % 4 == 3 else users[stable_hash(seed, "owner", i) % n_users]
        age_days = max(1, (origin - project.created_at) // DAY - 1)  # created after its project, before data
        created = project.created_at + DAY * (1 + stable_hash(seed, "key-age", i) % age_days) + 600 * (i % 6)
        until = project.archived_at
        if is_new:  # created part-way through the period
            created = origin + (2 * days // 3) * DAY + 9 * HOUR + 1234
        key = _key(
            seed, i, _key_name(seed, i), project_id=project.id, created=created, owner=owner, until=until
        )
        if project.id in archived_ids and isinstance(owner, User):
            key = replace(key, owner_access="inactive")  # its owner lost access with the archive
        keys.append(key)
    deleted_until = origin + max(1, days // 3) * DAY + 14 * HOUR + 321
    keys.append(
        _key(
            seed,
            n_keys,
            "old-prototype",
            project_id=projects[0].id,
            created=origin - 90 * DAY,
            owner=users[0],
            until=deleted_until,
            listed=False,
        )
    )
    return Directory(
        projects=projects,
        users=users,
        keys=tuple(keys),
        xss_key_id=keys[1].id,
        quiet_key_id=keys[2].id,
        deleted_key_id=keys[-1].id,
        spike_key_id=keys[0].id,
        new_key_id=keys[n_keys - 1].id if n_keys >= 5 else None,
        vector_stores=tuple(store for p in projects for store in _vector_stores(seed, p)),
    )


def _vector_stores(seed: int, project: Project) -> list[VectorStore]:
    count = 1 + stable_hash(seed, "vector-stores", project.id) % 2
    return [
        VectorStore(
            id=f"vs_{token(24, seed, 'vs', project.id, n)}",
            project_id=project.id,
            base_bytes=(50 + stable_hash(seed, "vs-size", project.id, n) % 1500) * MEBIBYTE,
            daily_growth=(1 + stable_hash(seed, "vs-growth", project.id, n) % 40) * MEBIBYTE,
            until=project.archived_at,
        )
        for n in range(count)
    ]


def _user(seed: int, i: int, n_users: int, origin: int) -> User:
    first = _FIRST[i % len(_FIRST)]
    last = _LAST[(i // len(_FIRST) + stable_hash(seed, "last", i)) % len(_LAST)]
    suffix = "" if i < len(_FIRST) else str(i // len(_FIRST))
    role = "owner" if i == 0 or stable_hash(seed, "role", i) % 5 == 0 else "reader"
    added = origin - DAY * (400 + 3 * (n_users - i) + stable_hash(seed, "added", i) % 3)
    added += stable_hash(seed, "at", i) % (DAY // 2)  # the first user (the owner) joined first
    return User(
        f"user-{token(24, seed, 'user', i)}",
        f"{first} {last}",
        f"{first.lower()}.{last.lower()}{suffix}@example.com",
        role,
        added,
    )


def _project(seed: int, i: int, n_projects: int, origin: int, days: int) -> Project:
    name = _PROJECT_NAMES[i % len(_PROJECT_NAMES)]
    if i >= len(_PROJECT_NAMES):
        name = f"{name} {i // len(_PROJECT_NAMES) + 1}"
    created = origin - DAY * (60 + 5 * (n_projects - i) + stable_hash(seed, "project-age", i) % 4)
    created += stable_hash(seed, "project-at", i) % DAY  # the Default project is the oldest
    archived = None
    if i == n_projects - 1 and n_projects >= 2:
        archived = origin + max(1, days // 2) * DAY + 15 * HOUR + 1200
    return Project(f"proj_{token(24, seed, 'project', i)}", name, created, archived)


def _service_account(seed: int, project: Project) -> ServiceAccount:
    slug = project.name.lower().replace(" ", "-")
    return ServiceAccount(f"svc_acct_{token(24, seed, 'svc', project.id)}", f"{slug}-bot", project.created_at)


def _key_name(seed: int, i: int) -> str:
    if i == 1:
        return XSS_NAME
    if i == 4:
        return "équipe données — prod"
    purpose = _PURPOSES[stable_hash(seed, "purpose", i) % len(_PURPOSES)]
    env = _ENVS[stable_hash(seed, "env", i) % len(_ENVS)]
    return f"{purpose}-{env}-{i}"


def _key(
    seed: int,
    i: int,
    name: str,
    *,
    project_id: str,
    created: int,
    owner: User | ServiceAccount,
    until: int | None,
    listed: bool = True,
) -> ApiKey:
    redacted = f"sk-{token(3, seed, 'head', i).lower()}...{token(3, seed, 'tail', i)}"
    return ApiKey(
        id=f"key_{token(16, seed, 'key', i)}",
        name=name,
        redacted_value=redacted,
        project_id=project_id,
        created_at=created,
        owner=owner,
        listed=listed,
        active_from=created,
        active_until=until,
    )
