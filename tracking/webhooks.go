package tracking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MLflow 3 webhooks (mlflow/protos/webhooks.proto, mlflow/webhooks/): a
// webhook names a URL, the registry events it wants and an optional secret
// that signs each message (see package webhook's MLflow scheme).

// Webhook statuses.
const (
	WebhookActive   = "ACTIVE"
	WebhookDisabled = "DISABLED"
)

// Bounds on a webhook's fields: MLflow's name rule and its columns' sizes.
const (
	MaxWebhookURL         = 500
	MaxWebhookDescription = 1000
	MaxWebhookSecret      = 1000
	DefaultWebhookResults = 100
	MaxWebhookResults     = 1000
)

// WebhookEvent is an entity and an action, in MLflow's lower-case names
// ("model_version", "created"); on the wire they are the proto enums'
// upper-case names (MODEL_VERSION, CREATED) or numbers.
type WebhookEvent struct {
	Entity string `json:"entity"`
	Action string `json:"action"`
}

func (e WebhookEvent) String() string { return e.Entity + "." + e.Action }

// webhookEvents are the events MLflow 3.6 fires (VALID_ENTITY_ACTIONS in
// mlflow/entities/webhook.py), in its order.
var webhookEvents = []WebhookEvent{
	{"registered_model", "created"},
	{"model_version", "created"},
	{"model_version_tag", "set"}, {"model_version_tag", "deleted"},
	{"model_version_alias", "created"}, {"model_version_alias", "deleted"},
	{"prompt", "created"},
	{"prompt_version", "created"},
	{"prompt_tag", "set"}, {"prompt_tag", "deleted"},
	{"prompt_version_tag", "set"}, {"prompt_version_tag", "deleted"},
	{"prompt_alias", "created"}, {"prompt_alias", "deleted"},
}

// The proto enums' numbers, by lower-case name (index = number).
var (
	webhookEntities = []string{"entity_unspecified", "registered_model", "model_version", "model_version_tag",
		"model_version_alias", "prompt", "prompt_version", "prompt_tag", "prompt_version_tag", "prompt_alias"}
	webhookActions  = []string{"action_unspecified", "created", "updated", "deleted", "set"}
	webhookStatuses = []string{"", WebhookActive, WebhookDisabled}
)

// WebhookEvents lists every event a webhook may subscribe to.
func WebhookEvents() []WebhookEvent { return slices.Clone(webhookEvents) }

// Webhook is a stored webhook. Its Secret is never written in JSON: a
// secret is write-only, as in MLflow.
type Webhook struct {
	WebhookID            string         `json:"webhook_id"`
	Name                 string         `json:"name"`
	Description          string         `json:"description,omitempty"`
	URL                  string         `json:"url"`
	Events               []WebhookEvent `json:"events"`
	Status               string         `json:"status"`
	CreationTimestamp    int64          `json:"creation_timestamp"`
	LastUpdatedTimestamp int64          `json:"last_updated_timestamp"`
	Secret               string         `json:"-"`
}

// MarshalJSON writes the events as the proto's enum names.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	evs := make([]wireEvent, len(w.Events))
	for i, e := range w.Events {
		evs[i] = wireEvent{Enum(strings.ToUpper(e.Entity)), Enum(strings.ToUpper(e.Action))}
	}
	return json.Marshal(struct {
		plain
		Events []wireEvent `json:"events"`
	}{plain(w), evs})
}

// WebhookUpdate is what webhooks/{id} PATCH changes: nil fields (and, as
// in MLflow, empty strings and an empty events list) are left alone.
type WebhookUpdate struct {
	Name, Description, URL, Secret, Status *string
	Events                                 []WebhookEvent
}

// WebhookStore keeps webhooks and their outbox. The Registry writes of a
// Store that implements it queue, in the transaction of the change, one
// message per active webhook subscribed to the event the change fires
// (the MLflow envelope around the event's payload), so a change is never
// stored without its messages, nor a message without its change. The
// outbox is the monitor outbox's (MonitorNotification and MonitorDelivery,
// Receiver the webhook id), kept under the reserved name WebhookOutbox.
type WebhookStore interface {
	// CreateWebhook stores w (validated by the caller) under a new id.
	CreateWebhook(ctx context.Context, w Webhook) (*Webhook, error)
	// GetWebhook returns a webhook that is not deleted, with its secret.
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	// ListWebhooks lists webhooks newest first, max a page.
	ListWebhooks(ctx context.Context, max int, pageToken string) ([]Webhook, string, error)
	UpdateWebhook(ctx context.Context, id string, u WebhookUpdate) (*Webhook, error)
	// DeleteWebhook marks a webhook deleted; its queued messages are
	// given up by the dispatcher.
	DeleteWebhook(ctx context.Context, id string) error
	// PendingWebhookMessages lists queued messages not yet delivered nor
	// given up, oldest first, at most limit.
	PendingWebhookMessages(ctx context.Context, limit int) ([]MonitorNotification, error)
	// RecordWebhookDelivery appends one attempt (or, Final, closes a
	// message), as RecordMonitorDelivery does.
	RecordWebhookDelivery(ctx context.Context, a MonitorDelivery) error
	// WebhookDeliveries lists the attempts of one webhook's messages,
	// oldest first.
	WebhookDeliveries(ctx context.Context, webhookID string) ([]MonitorDelivery, error)
}

// WebhookOutbox is the outbox name webhook messages are kept under in the
// monitor outbox; no monitor may take it.
const WebhookOutbox = ":mlflow-webhooks"

// NewDeliveryID returns a random UUID (version 4) in its usual text form,
// as MLflow's webhook and delivery ids are.
func NewDeliveryID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// WebhookEnvelope is the body MLflow posts: the event, an ISO 8601 UTC
// timestamp (Python's isoformat) and the event's payload as data.
func WebhookEnvelope(ev WebhookEvent, at time.Time, data any) ([]byte, error) {
	return json.Marshal(struct {
		Entity    string `json:"entity"`
		Action    string `json:"action"`
		Timestamp string `json:"timestamp"`
		Data      any    `json:"data"`
	}{ev.Entity, ev.Action, at.UTC().Format("2006-01-02T15:04:05.000000-07:00"), data})
}

// The payloads of the events (mlflow/webhooks/types.py). Fields MLflow
// sends as None are nil pointers here, written as null.
type (
	RegisteredModelCreatedPayload struct {
		Name        string            `json:"name"`
		Tags        map[string]string `json:"tags"`
		Description string            `json:"description"`
	}
	ModelVersionCreatedPayload struct {
		Name        string            `json:"name"`
		Version     string            `json:"version"`
		Source      string            `json:"source"`
		RunID       *string           `json:"run_id"`
		Tags        map[string]string `json:"tags"`
		Description *string           `json:"description"`
	}
	PromptVersionCreatedPayload struct {
		Name        string            `json:"name"`
		Version     string            `json:"version"`
		Template    *string           `json:"template"`
		Tags        map[string]string `json:"tags"`
		Description *string           `json:"description"`
	}
	// TagPayload is model_version_tag.set (Version set) and prompt_tag.set
	// (no version); Value is left out of the .deleted events.
	TagPayload struct {
		Name    string  `json:"name"`
		Version string  `json:"version,omitempty"`
		Key     string  `json:"key"`
		Value   *string `json:"value,omitempty"`
	}
	// AliasPayload is .created (with Version) and .deleted (without).
	AliasPayload struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version,omitempty"`
	}
)

// MLflow's prompt tags that its prompt payloads leave out.
const (
	promptTypeTagKey = "_mlflow_prompt_type"
	promptTextTagKey = "mlflow.prompt.text"
)

// IsPromptRequest is MLflow's _is_prompt_request: a create whose tags
// carry PromptTagKey (any value) makes a prompt.
func IsPromptRequest(tags []Tag) bool {
	return slices.ContainsFunc(tags, func(t Tag) bool { return t.Key == PromptTagKey })
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ModelCreatedEvent is the event and payload of a registered model created
// with these fields.
func ModelCreatedEvent(m RegisteredModel) (WebhookEvent, any) {
	tags := map[string]string{}
	prompt := IsPromptRequest(m.Tags)
	for _, t := range m.Tags {
		if prompt && (t.Key == PromptTagKey || t.Key == promptTypeTagKey) {
			continue
		}
		tags[t.Key] = t.Value
	}
	if prompt {
		return WebhookEvent{"prompt", "created"}, RegisteredModelCreatedPayload{m.Name, tags, m.Description}
	}
	return WebhookEvent{"registered_model", "created"}, RegisteredModelCreatedPayload{m.Name, tags, m.Description}
}

// VersionCreatedEvent is the event and payload of a model version created
// with these fields under version.
func VersionCreatedEvent(v ModelVersion, version string) (WebhookEvent, any) {
	tags := map[string]string{}
	for _, t := range v.Tags {
		tags[t.Key] = t.Value
	}
	if !IsPromptRequest(v.Tags) {
		return WebhookEvent{"model_version", "created"}, ModelVersionCreatedPayload{v.Name, version, v.Source, nilIfEmpty(v.RunID), tags, nilIfEmpty(v.Description)}
	}
	var tmpl *string
	if t, ok := tags[promptTextTagKey]; ok {
		tmpl = &t
	}
	delete(tags, promptTextTagKey)
	delete(tags, PromptTagKey)
	delete(tags, promptTypeTagKey)
	return WebhookEvent{"prompt_version", "created"}, PromptVersionCreatedPayload{v.Name, version, tmpl, tags, nilIfEmpty(v.Description)}
}

// TagEvent is the event of a tag set (value non-nil) or deleted on a
// registered model (version "") or a model version; prompt says whether
// the model is a prompt. Model tags fire only for prompts (ok false).
func TagEvent(prompt bool, name, version, key string, value *string) (ev WebhookEvent, payload any, ok bool) {
	action := "set"
	if value == nil {
		action = "deleted"
	}
	entity := "model_version_tag"
	switch {
	case version == "" && !prompt:
		return ev, nil, false
	case version == "":
		entity = "prompt_tag"
	case prompt:
		entity = "prompt_version_tag"
	}
	return WebhookEvent{entity, action}, TagPayload{name, version, key, value}, true
}

// AliasEvent is the event of an alias set (version non-empty) or deleted.
func AliasEvent(prompt bool, name, alias, version string) (WebhookEvent, any) {
	entity, action := "model_version_alias", "created"
	if prompt {
		entity = "prompt_alias"
	}
	if version == "" {
		action = "deleted"
	}
	return WebhookEvent{entity, action}, AliasPayload{name, alias, version}
}

// examplePayload is MLflow's example payload of each event
// (get_example_payload_for_event), sent by webhooks/{id}/test.
func examplePayload(ev WebhookEvent) any {
	v := "example_value"
	tags := map[string]string{"example_key": "example_value"}
	desc := func(s string) *string { return &s }
	switch ev.String() {
	case "registered_model.created":
		return RegisteredModelCreatedPayload{"example_model", tags, "An example registered model"}
	case "model_version.created":
		return ModelVersionCreatedPayload{"example_model", "1", "models:/123", desc("abcd1234abcd5678"), tags, desc("An example model version")}
	case "model_version_tag.set":
		return TagPayload{"example_model", "1", "example_key", &v}
	case "model_version_tag.deleted":
		return TagPayload{"example_model", "1", "example_key", nil}
	case "model_version_alias.created":
		return AliasPayload{"example_model", "example_alias", "1"}
	case "model_version_alias.deleted":
		return AliasPayload{"example_model", "example_alias", ""}
	case "prompt.created":
		return RegisteredModelCreatedPayload{"example_prompt", tags, "An example prompt"}
	case "prompt_version.created":
		return PromptVersionCreatedPayload{"example_prompt", "1", desc("Hello {{name}}!"), tags, desc("An example prompt version")}
	case "prompt_tag.set":
		return TagPayload{"example_prompt", "", "example_key", &v}
	case "prompt_tag.deleted":
		return TagPayload{"example_prompt", "", "example_key", nil}
	case "prompt_version_tag.set":
		return TagPayload{"example_prompt", "1", "example_key", &v}
	case "prompt_version_tag.deleted":
		return TagPayload{"example_prompt", "1", "example_key", nil}
	case "prompt_alias.created":
		return AliasPayload{"example_prompt", "example_alias", "1"}
	case "prompt_alias.deleted":
		return AliasPayload{"example_prompt", "example_alias", ""}
	}
	return nil
}

// Validation, as MLflow's (mlflow/utils/validation.py).

var webhookNameRe = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

// ValidateWebhookName is MLflow's rule: 1 to 63 letters, digits, '.', '_'
// and '-', starting and ending with a letter or digit.
func ValidateWebhookName(name string) error {
	if len(name) > 63 || !webhookNameRe.MatchString(name) {
		return InvalidParameterf("Webhook name %s is invalid. It must start and end with a letter or digit, "+
			"be less than 63 characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-).", pyRepr(name))
	}
	return nil
}

// ValidateWebhookURL checks u parses and uses one of schemes (MLflow's
// MLFLOW_WEBHOOK_ALLOWED_SCHEMES, https by default).
func ValidateWebhookURL(u string, schemes []string) error {
	if strings.TrimSpace(u) == "" {
		return InvalidParameterf("Webhook URL cannot be empty or just whitespace: %s", pyRepr(u))
	}
	if len(u) > MaxWebhookURL {
		return InvalidParameterf("Webhook URL is %d characters long, more than the limit of %d.", len(u), MaxWebhookURL)
	}
	p, err := url.Parse(u)
	if err != nil {
		return InvalidParameterf("Invalid webhook URL %s: %v", pyRepr(u), err)
	}
	if !slices.Contains(schemes, p.Scheme) {
		return InvalidParameterf("Invalid webhook URL scheme: %s. Allowed schemes are: %s.", pyRepr(p.Scheme), strings.Join(schemes, ", "))
	}
	if p.Host == "" {
		return InvalidParameterf("Invalid webhook URL %s: it names no host.", pyRepr(u))
	}
	return nil
}

// pyRepr quotes s as Python's repr does for plain strings (MLflow's
// messages use !r).
func pyRepr(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}

// wireEvent is a WebhookEvent as the proto carries it.
type wireEvent struct {
	Entity Enum `json:"entity"`
	Action Enum `json:"action"`
}

// enumName reads a proto enum value (its name or its number) as the
// lower-case name, or "" when it is neither.
func enumName(v Enum, names []string) string {
	if n, err := strconv.Atoi(string(v)); err == nil {
		if n >= 0 && n < len(names) {
			return strings.ToLower(names[n])
		}
		return ""
	}
	// Names as the proto spells them: upper case only.
	for _, name := range names {
		if name != "" && strings.ToUpper(name) == string(v) {
			return strings.ToLower(name)
		}
	}
	return ""
}

// parseEvents turns the wire events into a validated list without
// duplicates (MLflow's WebhookEvent(entity, action) rule: the pair must be
// one of webhookEvents).
func parseEvents(in []wireEvent) ([]WebhookEvent, error) {
	var out []WebhookEvent
	for i, w := range in {
		if w.Entity == "" || w.Action == "" {
			return nil, InvalidParameterf("Webhook event %d must have both 'entity' and 'action'.", i)
		}
		e := WebhookEvent{enumName(w.Entity, webhookEntities), enumName(w.Action, webhookActions)}
		if e.Entity == "" || e.Entity == webhookEntities[0] {
			return nil, InvalidParameterf("Invalid value %s for parameter 'events[%d].entity' supplied.", pyRepr(string(w.Entity)), i)
		}
		if e.Action == "" || e.Action == webhookActions[0] {
			return nil, InvalidParameterf("Invalid value %s for parameter 'events[%d].action' supplied.", pyRepr(string(w.Action)), i)
		}
		if !slices.Contains(webhookEvents, e) {
			var valid []string
			for _, v := range webhookEvents {
				if v.Entity == e.Entity {
					valid = append(valid, "'"+v.Action+"'")
				}
			}
			slices.Sort(valid)
			return nil, InvalidParameterf("Invalid action '%s' for entity '%s'. Valid actions are: [%s]", e.Action, e.Entity, strings.Join(valid, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func parseWebhookStatus(v Enum) (string, error) {
	s := enumName(v, webhookStatuses)
	if s == "" {
		return "", InvalidParameterf("Invalid value %s for parameter 'status' supplied.", pyRepr(string(v)))
	}
	return strings.ToUpper(s), nil
}
