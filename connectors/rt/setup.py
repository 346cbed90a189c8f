"""`entitlements setup-rt`: what the adapter needs in RT, created through REST 2, and the
initialdata file for what REST 2 cannot do.

REST 2 (RT 5.0.3) creates custom fields but applies one only to the queue named when it is
created: it cannot apply an existing field to another queue, nor a user field at all
(RT/CustomField.pm; sending `Queue` with a user field even turns it into a ticket field). RT
has no webhooks either. So the fields are created here, and an initialdata file, loaded by
the RT admin with `rt-setup-database --action insert --datafile FILE`, applies them, gives the
category field its values, and installs the Scrip that posts each change to /webhooks/rt.
Every step looks first, so running either again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapter.errors import ApiError
from adapter.settings import Settings
from connectors.rt.client import RtClient
from connectors.rt.settings import rt_settings
from mappings.rt import RtMapping, load_mapping
from mappings.yamlfile import FileErrors

TICKET = "RT::Queue-RT::Ticket"
USER = "RT::User"
SCRIP = "Entitlements adapter webhook"
WEBHOOK_TIMEOUT = 3  # seconds: the Scrip runs before RT answers its own user


class SetupError(Exception):
    """Something the admin must do in RT first (a queue missing)."""


@dataclass(frozen=True)
class Field:
    name: str
    lookup_type: str
    type: str
    values: tuple[str, ...] = ()


def fields_of(mapping: RtMapping) -> list[Field]:
    written = mapping.write_back.custom_fields
    fields = [
        Field(name, TICKET, "Text" if key == "reasons" else "Freeform")
        for key, name in written.items()
    ]
    if mapping.category_field:
        fields.append(
            Field(mapping.category_field, TICKET, "Select", tuple(sorted(mapping.categories)))
        )
    fields.append(Field(mapping.customer_number_field, USER, "Freeform"))
    return fields


def create_fields(client: RtClient, mapping: RtMapping) -> list[str]:
    """Check the support queues, set the API user's time zone to UTC (TicketSQL reads dates in
    it), create the custom fields that are missing; returns what it did."""
    queues = sorted(mapping.support_queues)
    missing = [q for q in queues if client.queue(q) is None]
    if missing:
        raise SetupError(
            f"queue(s) {', '.join(missing)} not found in RT: create them (Admin → Queues) or "
            "name your support queues under support_queues in rt.yaml"
        )
    done = []
    me = client.me()
    if me.get("Timezone") != "UTC":
        client.update_user(str(me.get("Name") or me["id"]), {"Timezone": "UTC"})
        done.append(f"time zone UTC for the API user {me.get('Name') or me['id']}")
    for f in fields_of(mapping):
        if client.custom_field(f.name, f.lookup_type):
            continue
        body = {"Name": f.name, "Type": f.type, "MaxValues": 1, "LookupType": f.lookup_type}
        if f.lookup_type == TICKET:
            body["Queue"] = queues[0]  # the others: the initialdata file
        client.create_custom_field(body)
        # RT lists a field only to a user with SeeCustomField granted globally or on the field
        # (a field listed has no queue as its context, RT/CustomField.pm): granted in a queue
        # only, the field just made is not found, and each run would make it again.
        if not client.custom_field(f.name, f.lookup_type):
            raise SetupError(
                f"RT created the custom field {f.name!r} but does not list it to this user: "
                "grant the user SeeCustomField globally (Admin → Global → User Rights), then "
                "run setup-rt again"
            )
        done.append(f"custom field {f.name!r}")
    return done


def unapplied(client: RtClient, mapping: RtMapping) -> list[str]:
    """Ticket fields not applied to a support queue (until the initialdata file is loaded)."""
    wanted = [f.name for f in fields_of(mapping) if f.lookup_type == TICKET]
    problems = []
    for name in sorted(mapping.support_queues):
        queue = client.queue(name)
        if queue is None:
            problems.append(f"queue {name!r} does not exist")
            continue
        have = client.queue_custom_fields(queue["id"])
        problems += [
            f"custom field {f!r} is not applied to queue {name!r}" for f in wanted if f not in have
        ]
    return problems


def _perl(text: str) -> str:
    """A Perl single-quoted string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def initialdata(mapping: RtMapping, webhook_url: str, secret: str, adapter_user: str) -> str:
    """The initialdata file: applies the fields, adds the category values, installs the
    Scrip, which posts no change made by `adapter_user` (the adapter's RT user: it wrote that
    change itself). The secret is in it (RT keeps a loaded file's text in its database too)."""
    queues = ", ".join(_perl(q) for q in sorted(mapping.support_queues))
    fields = fields_of(mapping)
    ticket_fields = ", ".join(_perl(f.name) for f in fields if f.lookup_type == TICKET)
    values = ", ".join(_perl(v) for f in fields for v in f.values)
    category = _perl(mapping.category_field or "")
    return TEMPLATE.format(
        queues=queues,
        ticket_fields=ticket_fields,
        user_field=_perl(mapping.customer_number_field),
        category=category,
        values=values,
        scrip=_perl(SCRIP),
        url=_perl(webhook_url),
        secret=_perl(secret),
        adapter=_perl(adapter_user),
        timeout=WEBHOOK_TIMEOUT,
    )


# Perl, run by rt-setup-database. `@Initial` refuses to go on without the queues (a failing
# `@Scrips` entry alone would only be logged, and the load would still exit 0); `@Final`
# applies the fields (idempotent: it looks before it adds).
TEMPLATE = r"""# RT initialdata written by `entitlements setup-rt`. Load it on the RT host, as root:
#   rt-setup-database --action insert --datafile THIS_FILE
# (Debian: rt-setup-database-5). Loading it again changes nothing but the Scrip's code.
# It holds the webhook secret: keep it like a password, delete it after loading.

my @queues = ({queues});
my @ticket_fields = ({ticket_fields});
my $user_field = {user_field};
my $category = {category};
my @category_values = ({values});
my $description = {scrip};

my $commit_code = <<'PERL';
my $url     = {url};
my $secret  = {secret};
my $adapter = {adapter};
my $timeout = {timeout};

require LWP::UserAgent;
require Digest::SHA;
require JSON;

my $ticket = $self->TicketObj;
my @txns = grep {{ defined }} @{{ $ticket->TransactionBatch || [] }};
@txns = ($self->TransactionObj) unless @txns;
# The adapter's own writes (fields, Due, its comment) are its decision already: posting them
# would only make it decide again and write nothing, as Zammad's triggers skip them too.
@txns = grep {{ $_->Type !~ /EmailRecord$/ && $_->CreatorObj->Name ne $adapter }} @txns;
return 1 unless @txns;

my $event = (grep {{ $_->Type eq 'Create' }} @txns) ? 'create' : 'update';
my $first = $txns[0];
my $body = JSON->new->utf8->canonical->encode({{
    event            => $event,
    ticket_id        => $ticket->Id + 0,
    queue            => $ticket->QueueObj->Name,
    status           => $ticket->Status,
    transaction_id   => $first->Id + 0,
    transaction_type => $first->Type,
    actor            => $first->CreatorObj->Name,
    transactions     => [ map {{ {{
        id        => $_->Id + 0,
        type      => $_->Type,
        field     => $_->Field,
        object_id => $_->ObjectId + 0,
        creator   => $_->CreatorObj->Name,
        created   => $_->CreatedObj->W3CDTF( Timezone => 'UTC' ),
    }} }} @txns ],
}});

my $ua = LWP::UserAgent->new( timeout => $timeout, agent => 'RT-Entitlements-Webhook/1' );
my $res = $ua->post(
    $url,
    'Content-Type'    => 'application/json',
    'X-Hub-Signature' => 'sha1=' . Digest::SHA::hmac_sha1_hex( $body, $secret ),
    'X-RT-Delivery'   => 'rt-' . $ticket->Id . '-' . $first->Id,
    Content           => $body,
);
RT->Logger->warning(
    "Entitlements webhook for ticket " . $ticket->Id . " failed: " . $res->status_line
) unless $res->is_success;
return 1;
PERL

@Initial = (sub {{
    for my $name (@queues) {{
        my $queue = RT::Queue->new( RT->SystemUser );
        $queue->Load($name);
        die "Queue '$name' not found: create it first\n" unless $queue->id;
    }}
    my $scrips = RT::Scrips->new( RT->SystemUser );
    $scrips->Limit( FIELD => 'Description', VALUE => $description );
    $scrips->{{find_disabled_rows}} = 1;
    while ( my $old = $scrips->Next ) {{
        my ( $ok, $msg ) = $old->Delete;
        die "Could not replace the old scrip: $msg\n" unless $ok;
    }}
}});

@Scrips = ({{
    Description       => $description,
    Queue             => [@queues],
    ScripCondition    => 'On Transaction',
    ScripAction       => 'User Defined',
    Template          => 'Blank',
    Stage             => 'TransactionBatch',
    CustomPrepareCode => 'return 1;',
    CustomCommitCode  => $commit_code,
}});

@Final = (sub {{
    for my $name (@ticket_fields) {{
        my $cf = RT::CustomField->new( RT->SystemUser );
        $cf->LoadByCols( Name => $name, LookupType => 'RT::Queue-RT::Ticket', Disabled => 0 );
        die "Custom field '$name' not found: run entitlements setup-rt first\n" unless $cf->id;
        for my $queue_name (@queues) {{
            my $queue = RT::Queue->new( RT->SystemUser );
            $queue->Load($queue_name);
            next if $cf->IsGlobal || $cf->IsAdded( $queue->id );
            my ( $ok, $msg ) = $cf->AddToObject($queue);
            die "apply '$name' to '$queue_name': $msg\n" unless $ok;
        }}
        next unless $name eq $category;
        my %have = map {{ $_->Name => 1 }} @{{ $cf->Values->ItemsArrayRef }};
        for my $value (grep {{ !$have{{$_}} }} @category_values) {{
            my ( $ok, $msg ) = $cf->AddValue( Name => $value );
            die "value '$value' of '$name': $msg\n" unless $ok;
        }}
    }}
    my $cf = RT::CustomField->new( RT->SystemUser );
    $cf->LoadByCols( Name => $user_field, LookupType => 'RT::User', Disabled => 0 );
    die "Custom field '$user_field' not found: run entitlements setup-rt first\n" unless $cf->id;
    unless ( $cf->IsGlobal ) {{
        my ( $ok, $msg ) = $cf->AddToObject( RT::User->new( RT->SystemUser ) );
        die "apply '$user_field': $msg\n" unless $ok;
    }}
}});

1;
"""


def installed_warnings(settings: Settings) -> list[str]:
    """`check`: what is missing in the RT the settings name (nothing without one). An RT that
    cannot be read is a warning, not an error: `check` must work offline."""
    rt = rt_settings(settings)
    if not rt.configured:
        return []
    try:
        mapping = load_mapping(settings.mapping("rt.yaml"))
    except FileErrors:
        return []  # reported as errors already
    try:
        return client_warnings(rt.client(), mapping)
    except ApiError as e:
        return [f"could not read RT ({e}): its custom fields not checked"]


def client_warnings(client: RtClient, mapping: RtMapping) -> list[str]:
    """What `check` warns about, as the adapter's RT user sees RT."""
    missing = [f.name for f in fields_of(mapping) if not client.custom_field(f.name, f.lookup_type)]
    warnings = [
        f"custom field {name!r} is not found: entitlements setup-rt creates it; if it exists, "
        "RT hides it from the adapter's RT user, which needs SeeCustomField granted globally "
        "(docs/rt.md)"
        for name in missing
    ]
    if not missing:  # a field RT hides is not listed in its queues either
        warnings += unapplied(client, mapping)
    if client.me().get("Timezone") != "UTC":
        warnings.append(
            "the API user's time zone is not UTC: polling would read times wrongly "
            "(entitlements setup-rt sets it)"
        )
    return warnings
