"""The object manager: custom attributes of tickets, users, organisations and groups, their
migrations, and how their values are kept and cast."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standins.zammad.api import Request
from standins.zammad.refusal import not_found, unprocessable
from standins.zammad.schema import (
    ORGANIZATION_COLUMNS,
    TICKET_COLUMNS,
    TICKET_RELATION_NAMES,
    USER_COLUMNS,
)
from standins.zammad.values import as_bool, as_list, condition_text, iso, parse_time

OBJECTS = {"Ticket": 2, "User": 1, "Organization": 4, "Group": 3}  # name -> object_lookup_id


DATA_TYPES = frozenset({
    "input", "user_autocompletion", "checkbox", "select", "tree_select", "datetime", "date",
    "tag", "richtext", "textarea", "integer", "autocompletion_ajax", "boolean",
    "user_permission", "active", "multiselect", "multi_tree_select",
    "autocompletion_ajax_external_data_source",
})  # fmt: skip


# data_type may only change inside this family once created
DATA_TYPE_FAMILY = frozenset({"input", "select", "tree_select", "checkbox"})


INPUT_TYPES = frozenset({"text", "password", "tel", "fax", "email", "url"})


# check_name in app/models/object_manager/attribute.rb (6.x): RESERVED_NAMES and
# RESERVED_NAMES_PER_MODEL. 7.x adds "preferences" and "data"; the stand-in is 6.x.
RESERVED_NAMES = frozenset({
    "destroy", "true", "false", "integer", "select", "drop", "create", "alter", "index", "table",
    "varchar", "blob", "date", "datetime", "timestamp", "url", "icon", "initials", "avatar",
    "permission", "validate", "subscribe", "unsubscribe", "translate", "search", "_type", "_doc",
    "_id", "id", "action", "scope", "constructor",
})  # fmt: skip


RESERVED_NAMES_PER_MODEL = {"Ticket": frozenset({"article"})}


ATTRIBUTE_NAME = re.compile(r"^[a-z0-9_]+$")


# migration_execute (same file) adds these columns with `default: data_option[:default]`, so
# the database fills every existing row with it; the string-like types get no column default.
COLUMN_DEFAULT_TYPES = frozenset(
    {"integer", "user_autocompletion", "boolean", "active", "datetime", "date"}
)


PROTECTED_COLUMNS = frozenset(
    {"id", "login", "created_at", "updated_at", "created_by_id", "updated_by_id"}
)


class ObjectManager:
    """Custom attributes: the control API, their defaults and casts, and the routes."""

    # ------------------------------------------------------------------ control API

    def add_object_attribute(
        self,
        object: str,
        name: str,
        data_type: str = "input",
        data_option: Mapping[str, Any] | None = None,
        display: str | None = None,
    ) -> int:
        """An already executed custom attribute (shortcut for POST + execute_migrations)."""
        with self._lock:
            attribute = self._validate_new_attribute(
                {
                    "object": object,
                    "name": name,
                    "display": display or name,
                    "data_type": data_type,
                    "data_option": dict(data_option or _default_data_option(data_type)),
                }
            )
            attribute["to_create"] = False
            self._attributes[attribute["id"]] = attribute
            self._materialise(attribute)
            return attribute["id"]

    def forget_until_restart(self, object: str, name: str) -> None:
        """Answer as a Zammad process that has not reloaded its columns since `name` was
        migrated: param_cleanup keeps only the columns of `Model.new`, from the process's column
        cache, which only the process that ran the migration resets (reset_database_info in
        app/models/object_manager/attribute.rb; can_cleanup_param.rb): writes drop the
        attribute, answered 200, until `restart`."""
        with self._lock:
            self._stale_columns.add((object, name))

    def restart(self) -> None:
        """Zammad restarted: every process knows every migrated column."""
        with self._lock:
            self._stale_columns.clear()

    def object_attributes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(a) for a in self._attributes.values()]

    # ------------------------------------------------------------------ custom attributes

    def _writable(self, object_name: str) -> dict[str, dict[str, Any]]:
        """The custom attributes that writes keep: executed, and known to the process that
        answers (see `forget_until_restart`)."""
        return {
            name: attribute
            for name, attribute in self._executed(object_name).items()
            if (object_name, name) not in self._stale_columns
        }

    def _executed(self, object_name: str) -> dict[str, dict[str, Any]]:
        return {
            a["name"]: a
            for a in self._attributes.values()
            if a["object"] == object_name and not a["to_create"]
        }

    def _custom_defaults(self, object_name: str) -> dict[str, Any]:
        """A new record's custom attributes: the column default, then, for active attributes,
        what app/models/object_manager/attribute/set_defaults.rb sets (data_option.default;
        for date and datetime now + data_option.diff days or hours, or nothing)."""
        values = {}
        for name, attribute in self._executed(object_name).items():
            values[name] = _column_default(attribute)
            if attribute["active"]:
                values[name] = self._new_record_default(attribute)
        return values

    def _new_record_default(self, attribute: Mapping[str, Any]) -> Any:
        option = attribute.get("data_option") or {}
        data_type = attribute["data_type"]
        if data_type in ("date", "datetime"):
            diff = option.get("diff")
            if not diff:
                return None
            now = parse_time(self._stamp()) or datetime.now(UTC)
            if data_type == "date":
                return (now + timedelta(days=diff)).date().isoformat()
            return iso((now + timedelta(hours=diff)).replace(second=0, microsecond=0))
        return copy.deepcopy(option.get("default"))

    def _records_of(self, object_name: str) -> Iterable[dict[str, Any]]:
        return {
            "Ticket": self._tickets,
            "User": self._users,
            "Organization": self._organizations,
            "Group": self._groups,
        }[object_name].values()

    def _materialise(self, attribute: Mapping[str, Any]) -> None:
        """After a migration the new column exists on every record: with the attribute's
        default where the column has one (COLUMN_DEFAULT_TYPES), else null."""
        value = _column_default(attribute)
        for record in self._records_of(attribute["object"]):
            record.setdefault(attribute["name"], value)

    def _split_control_attributes(
        self, object_name: str, attributes: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split control-API keyword arguments into built-in columns and custom attributes,
        creating missing custom attributes with a data type guessed from the value."""
        builtin = {
            "Ticket": set(TICKET_COLUMNS) | set(TICKET_RELATION_NAMES),
            "User": set(USER_COLUMNS),
            "Organization": set(ORGANIZATION_COLUMNS),
            "Group": set(),
        }[object_name]
        columns: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in attributes.items():
            if key in builtin:
                columns[key] = value
                continue
            attribute = self._executed(object_name).get(key)
            if attribute is None:
                self.add_object_attribute(object_name, key, _guess_data_type(value))
                attribute = self._executed(object_name)[key]
            custom[key] = self._coerce_custom(attribute, value)
        protected = columns.keys() & PROTECTED_COLUMNS
        if protected and object_name != "Ticket":
            raise ValueError(f"cannot set {', '.join(sorted(protected))}")
        return columns, custom

    def _coerce_custom(self, attribute: Mapping[str, Any], value: Any) -> Any:
        """Cast a value the way the attribute's column type would, or refuse it (422)."""
        name = attribute["name"]
        data_type = attribute["data_type"]
        option = attribute.get("data_option") or {}
        if value is None:
            return None
        if data_type == "boolean":
            return as_bool(value, name)
        if data_type == "integer":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise unprocessable(f"{name} must be an integer, not {value!r}")
            try:
                number = int(value)
            except ValueError as exc:
                raise unprocessable(f"{name} must be an integer, not {value!r}") from exc
            low, high = option.get("min"), option.get("max")
            if (low is not None and number < low) or (high is not None and number > high):
                raise unprocessable(f"{name} must be between {low} and {high}")
            return number
        if data_type == "date":
            moment = parse_time(value)
            if moment is None:
                raise unprocessable(f"{name} must be a date (YYYY-MM-DD), not {value!r}")
            return value[:10] if isinstance(value, str) else moment.date().isoformat()
        if data_type == "datetime":
            moment = parse_time(value)
            if moment is None:
                raise unprocessable(f"{name} must be an ISO 8601 time, not {value!r}")
            return iso(moment)  # stored as a timestamp: read back with ms and Z
        if data_type in ("multiselect", "multi_tree_select"):
            return [str(v) for v in as_list(value)]
        if isinstance(value, dict | list):
            raise unprocessable(f"{name} must be a string, not {value!r}")
        text = condition_text(value)
        maxlength = option.get("maxlength")
        if data_type == "input" and isinstance(maxlength, int) and len(text) > maxlength:
            raise unprocessable(f"{name} is too long (maximum is {maxlength} characters)")
        return text

    def _validate_new_attribute(self, params: Mapping[str, Any]) -> dict[str, Any]:
        object_name = params.get("object")
        name = params.get("name")
        data_type = params.get("data_type")
        if object_name not in OBJECTS:
            raise unprocessable(f"Invalid object {object_name!r}")
        if not isinstance(name, str):
            raise unprocessable("Name can't be blank")
        name = name.lower()  # ObjectManager::Attribute.get and .add downcase the name
        if any(a["object"] == object_name and a["name"] == name for a in self._attributes.values()):
            raise unprocessable("already exists")  # the controller's create, before check_name
        builtin = {
            "Ticket": TICKET_COLUMNS,
            "User": USER_COLUMNS,
            "Organization": ORGANIZATION_COLUMNS,
            "Group": tuple(self._groups[1]),
        }[object_name]
        problem = _check_name(name, object_name) or (
            f"{name} already exists" if name in builtin else None
        )
        if problem:
            raise unprocessable(f"Name {problem}")  # RecordInvalid: its first full message
        if data_type not in DATA_TYPES:
            raise unprocessable(f"Invalid data_type {data_type!r}")
        display = params.get("display")
        if not isinstance(display, str) or not display.strip():
            raise unprocessable("display can't be blank")
        data_option = self._checked_data_option(data_type, params.get("data_option"))
        now = self._stamp()
        return {
            "id": self._next("attribute"),
            "name": name,
            "object": object_name,
            "object_lookup_id": OBJECTS[object_name],
            "display": display,
            "data_type": data_type,
            "data_option": data_option,
            "data_option_new": {},
            "editable": True,
            "active": bool(params.get("active", True)),
            "screens": copy.deepcopy(params.get("screens") or {}),
            "to_create": True,
            "to_migrate": False,
            "to_delete": False,
            "to_config": False,
            "position": 1550,  # Zammad's controller places API-created attributes here
            "created_by_id": self.integration_user_id,
            "updated_by_id": self.integration_user_id,
            "created_at": now,
            "updated_at": now,
        }

    @staticmethod
    def _checked_data_option(data_type: str, given: object) -> dict[str, Any]:
        """Fill in what Zammad's controller fills in (permitted_params in
        app/controllers/object_manager_attributes_controller.rb), then apply its per-type
        requirements. A boolean sent without a default gets default nil: no column default."""
        if given is not None and not isinstance(given, dict):
            raise unprocessable("data_option must be an object")
        option = copy.deepcopy(given) if given else {"default": ""}
        if "default" not in option:
            string_like = ("input", "select", "multiselect", "tree_select")
            option["default"] = "" if data_type in string_like else None
        boolean_text = data_type == "boolean" and option["default"] in ("true", "false")
        if boolean_text and option.get("options"):
            option["default"] = option["default"] == "true"
        option.setdefault("null", True)
        if not isinstance(option.get("options"), dict | list):
            option["options"] = {}
        if not isinstance(option.get("relation"), str):
            option["relation"] = ""
        problems: list[str] = []
        if data_type == "input":
            if option.get("type") not in INPUT_TYPES:
                problems.append("data_option.type must be one of " + ", ".join(sorted(INPUT_TYPES)))
            if not isinstance(option.get("maxlength"), int):
                problems.append("data_option.maxlength must be an integer")
        elif data_type == "integer":
            problems += [f"data_option.{k} is required" for k in ("min", "max") if k not in option]
        elif data_type == "datetime":
            problems += [
                f"data_option.{k} is required"
                for k in ("future", "past", "diff")
                if k not in option
            ]
        elif data_type == "date" and "diff" not in option:
            problems.append("data_option.diff is required")
        if problems:
            raise unprocessable("; ".join(problems))
        return option

    # ------------------------------------------------------------------ routes

    # app/controllers/object_manager_attributes_controller.rb. Not modelled: `index`
    # (ObjectManager::Attribute.list_full) lists Zammad's seeded attributes too; the stand-in
    # lists only those created here.

    def _r_attributes_index(self, req: Request) -> tuple[int, Any]:
        return 200, [copy.deepcopy(a) for a in self._attributes.values()]

    def _attribute(self, attribute_id: str) -> dict[str, Any]:
        attribute = self._attributes.get(int(attribute_id))
        if attribute is None:
            raise not_found("ObjectManager::Attribute", attribute_id)
        return attribute

    def _r_attributes_show(self, req: Request, attribute_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._attribute(attribute_id))

    def _r_attributes_create(self, req: Request) -> tuple[int, Any]:
        attribute = self._validate_new_attribute(req.params())
        self._attributes[attribute["id"]] = attribute
        return 201, copy.deepcopy(attribute)

    def _r_attributes_update(self, req: Request, attribute_id: str) -> tuple[int, Any]:
        attribute = self._attribute(attribute_id)
        params = req.params()
        if (params.get("object"), params.get("name")) != (attribute["object"], attribute["name"]):
            raise unprocessable("does not exist")  # Zammad looks the attribute up by both
        data_type = params.get("data_type", attribute["data_type"])
        if data_type != attribute["data_type"] and not (
            {data_type, attribute["data_type"]} <= DATA_TYPE_FAMILY
        ):
            raise unprocessable(
                f"Can't be changed data_type of attribute, not allowed to change "
                f"from {attribute['data_type']} to {data_type}"
            )
        for key in ("display", "active", "screens", "position"):
            if key in params:
                attribute[key] = copy.deepcopy(params[key])
        if "data_option" in params:
            option = self._checked_data_option(data_type, params["data_option"])
            if attribute["to_create"]:
                attribute["data_option"] = option
                attribute["data_type"] = data_type
            else:  # staged until execute_migrations, as in Zammad
                attribute["data_option_new"] = option
                attribute["to_config"] = True
                if data_type != attribute["data_type"]:
                    attribute["to_migrate"] = True
                    attribute["data_type_new"] = data_type
        attribute["updated_by_id"] = req.user_id
        attribute["updated_at"] = self._stamp()
        return 200, copy.deepcopy(attribute)

    def _r_migrations(self, req: Request) -> tuple[int, Any]:
        """`execute_migrations`: ObjectManager::Attribute.migration_execute, then 200 {}
        (the controller); the columns and staged changes as migration_execute applies them
        (app/models/object_manager/attribute.rb). Other processes learn a new column only on
        restart (see `forget_until_restart`)."""
        for attribute in self._attributes.values():
            if attribute["to_create"]:
                attribute["to_create"] = False
                self._materialise(attribute)
            if attribute["to_config"] or attribute["to_migrate"]:
                if attribute["data_option_new"]:
                    attribute["data_option"] = attribute["data_option_new"]
                attribute["data_type"] = attribute.pop("data_type_new", attribute["data_type"])
                attribute["data_option_new"] = {}
                attribute["to_config"] = attribute["to_migrate"] = False
        return 200, {}


def _check_name(name: str, object_name: str) -> str | None:
    """The first complaint of check_name (app/models/object_manager/attribute.rb, 6.x), or
    None. Its respond_to?/DangerousAttributeError checks are left to the built-in columns."""
    if re.search(r".+?_(id|ids)$", name, re.IGNORECASE):
        return "can't be used because *_id and *_ids are not allowed"
    if re.search(r"\s", name):
        return "spaces are not allowed"
    if not ATTRIBUTE_NAME.match(name):
        return "only lowercase letters, numbers, and '_' are allowed"
    if not re.search(r"[a-z]", name):
        return "at least one letter is required"
    if name in RESERVED_NAMES | RESERVED_NAMES_PER_MODEL.get(object_name, frozenset()):
        return f"{name} is a reserved word"
    return None


def _column_default(attribute: Mapping[str, Any]) -> Any:
    """What the database puts into a row that does not name the column."""
    if attribute["data_type"] not in COLUMN_DEFAULT_TYPES:
        return None
    default = (attribute.get("data_option") or {}).get("default")
    return None if default == "" else copy.deepcopy(default)  # Rails casts "" to nil here


def _guess_data_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "input"


def _default_data_option(data_type: str) -> dict[str, Any]:
    return {
        "input": {"type": "text", "maxlength": 255},
        "textarea": {"maxlength": 5000},
        "integer": {"min": -(2**31), "max": 2**31 - 1},
        "boolean": {"default": None, "options": {"true": "yes", "false": "no"}},
        "date": {"diff": None},
        "datetime": {"future": True, "past": True, "diff": None},
    }.get(data_type, {"options": {}})
