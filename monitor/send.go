package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/plan"
)

// commandTimeout bounds an alert command.
const commandTimeout = 30 * time.Second

// sender delivers alerts to one place.
type sender struct {
	name string // for messages: the kind and a redacted target
	send func(ctx context.Context, a *Alert) error
}

func newSender(a *plan.Alert, client *http.Client) sender {
	switch {
	case a.Webhook != "":
		return sender{"webhook " + redactURL(a.Webhook), func(ctx context.Context, al *Alert) error {
			b, _ := json.Marshal(al)
			return post(ctx, client, a.Webhook, b)
		}}
	case a.Slack != "":
		return sender{"slack " + redactURL(a.Slack), func(ctx context.Context, al *Alert) error {
			b, _ := json.Marshal(map[string]string{"text": Text(al)})
			return post(ctx, client, a.Slack, b)
		}}
	}
	return sender{"command", func(ctx context.Context, al *Alert) error {
		ctx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		b, _ := json.Marshal(al)
		cmd := exec.CommandContext(ctx, "sh", "-c", a.Command)
		cmd.Stdin = bytes.NewReader(b)
		cmd.Env = append(cmd.Environ(), "STAMPEDE_ALERT_STATUS="+al.Status, "STAMPEDE_ALERT_PLAN="+al.Plan,
			"STAMPEDE_ALERT_INCIDENT="+al.Incident, "STAMPEDE_ALERT_TEXT="+Text(al))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			tail := strings.TrimSpace(out.String())
			if len(tail) > 200 {
				tail = tail[len(tail)-200:]
			}
			return fmt.Errorf("%v: %s", err, tail)
		}
		return nil
	}}
}

// redactURL keeps a webhook's host: its path is often the secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL)"
	}
	return redact.String(u.Scheme + "://" + u.Host + "/…")
}

func post(ctx context.Context, client *http.Client, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// Text is an alert in one line of text, as a chat message.
func Text(a *Alert) string {
	var s string
	switch a.Status {
	case Firing:
		s = fmt.Sprintf("🔴 stampede: %s is failing: %s", a.Plan, a.Reason)
	case Reminder:
		s = fmt.Sprintf("🟠 stampede: %s still failing since %s: %s", a.Plan, a.Since.UTC().Format(time.RFC3339), a.Reason)
	case Resolved:
		s = fmt.Sprintf("🟢 stampede: %s recovered (incident since %s, %s)", a.Plan, a.Since.UTC().Format(time.RFC3339),
			a.At.Sub(a.Since).Round(time.Second))
	default:
		s = "stampede: " + a.Plan + " " + a.Status
	}
	return s + fmt.Sprintf(" · p95 %.1fms, errors %.2f%%, %.1f req/s · run %s", a.P95MS, 100*a.ErrorRate, a.RPS, a.Run)
}
