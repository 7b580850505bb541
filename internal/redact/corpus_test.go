package redact_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/types/known/structpb"
)

// corpus is text as real logs, errors and spans carry credentials, in every
// form the redaction rules cover. Each entry lists the parts of its secret
// that no redacted output may show and that every output shows without
// redaction: plain enough to be found as they are in HTML and JSON, and
// each distinct, so that a leak is named.
var corpus = []struct {
	name   string
	text   string
	secret []string
}{
	// key=value and its spellings.
	{"logfmt", "user=ada password=Xq7pLm2vR9 ok=true", []string{"Xq7pLm2vR9"}},
	{"spaces around =", "db password = Zr4tNw8yB1 retrying", []string{"Zr4tNw8yB1"}},
	{"tab after =", "password=\tHj3kDs9wQ5", []string{"Hj3kDs9wQ5"}},
	{"tabs around =", "client_secret\t=\tQp3Wo5Ei7R", []string{"Qp3Wo5Ei7R"}},
	{"whole unquoted value", "login password=Orbit5 Lantern8", []string{"Orbit5", "Lantern8"}},
	{"env export", "export DB_PASSWORD=Rb2Tn4Ym6U", []string{"Rb2Tn4Ym6U"}},
	{"libpq DSN", "host=db user=app password=Ml9Nk7Jb5V dbname=app sslmode=off", []string{"Ml9Nk7Jb5V"}},
	{"JDBC", "jdbc:sqlserver://db:1433;user=sa;password=Cv4Bn6Mq8W;encrypt=true", []string{"Cv4Bn6Mq8W"}},
	{"query token", "GET /cb?code=1&access_token=Zx1Cv3Bn5M&state=x", []string{"Zx1Cv3Bn5M"}},
	// key: value.
	{"colon", "password: Mn6bVc1xZ8", []string{"Mn6bVc1xZ8"}},
	{"colon no space", "Password:Xc8Vb6Nm4Q", []string{"Xc8Vb6Nm4Q"}},
	{"colon whole value", "vault passphrase: Gt6Hy8Ju0K Ember7 Quill3", []string{"Gt6Hy8Ju0K", "Ember7", "Quill3"}},
	// Quoted values.
	{"slog TextHandler", `level=WARN msg="login failed" password="Plover Quartz Nimbus7" user=ada`, []string{"Plover", "Quartz", "Nimbus7"}},
	{"single quotes", "password='Fjord Wisp9 Tamarind'", []string{"Fjord", "Wisp9", "Tamarind"}},
	{"escaped quote", `secret="Crux4\"Velk42 Horn8"`, []string{"Crux4", "Velk42", "Horn8"}},
	{"backquotes", "token=`Bq5Nw7Er9T Sable`", []string{"Bq5Nw7Er9T", "Sable"}},
	// JSON, YAML, prototext, Python.
	{"JSON", `{"password":"Gx2Wq8Lm4Z","user":"ada"}`, []string{"Gx2Wq8Lm4Z"}},
	{"JSON spaced", `{"api_key": "k7Hs92LdQpX1", "region": "eu"}`, []string{"k7Hs92LdQpX1"}},
	{"JSON in a string", `body={\"client_secret\":\"Tq8Zr2Mv5N\",\"scope\":\"read\"}`, []string{"Tq8Zr2Mv5N"}},
	{"JSON object value", `{"credentials": {"user": "bob", "value": "Wz3Xe5Rc7V"}}`, []string{"Wz3Xe5Rc7V"}},
	{"JSON array value", `{"tokens": ["Ta1Sd3Fg5H", "Tj7Kl9Zx1C"]}`, []string{"Ta1Sd3Fg5H", "Tj7Kl9Zx1C"}},
	{"JSON name and value", `{"name":"X-Api-Key","value":"Hb5Jn7Km9L"}`, []string{"Hb5Jn7Km9L"}},
	{"YAML", "db:\n  password: Yv5Kc8Tn2P\n  user: app\n", []string{"Yv5Kc8Tn2P"}},
	{"YAML quoted", "secret: \"Wb3Nq7Rx1L\"\nkind: Opaque", []string{"Wb3Nq7Rx1L"}},
	{"YAML single-quoted", "secret_key: 'Rv6Tb8Yn0M'", []string{"Rv6Tb8Yn0M"}},
	{"prototext", "user: \"ada\"\npassword: \"Pz6Ld4Kh8S\"", []string{"Pz6Ld4Kh8S"}},
	{"prototext message", "credentials: {\n  user: \"bob\"\n  key: \"Jm2Xf9Bw3C\"\n}", []string{"Jm2Xf9Bw3C"}},
	{"prototext map entry", "metadata: {\n  key: \"authorization\"\n  value: \"Pm7Qn2Wv5X\"\n}", []string{"Pm7Qn2Wv5X"}},
	{"proto %v of a Struct", "fields:{key:\"password\" value:{string_value:\"Sv4Bg6Nh8M\"}}", []string{"Sv4Bg6Nh8M"}},
	{"Python dict", `{'password': 'Gh3Jk5Lz7X', 'user': 'ada'}`, []string{"Gh3Jk5Lz7X"}},
	// Go %v forms.
	{"Go map", "map[password:Rt5Yh8Jk2L user:bob]", []string{"Rt5Yh8Jk2L"}},
	{"Go map value with a space", "map[pass:Ember4 Tundra9]", []string{"Ember4", "Tundra9"}},
	{"Go struct", "{User:bob Password:Qw3Er5Ty7U}", []string{"Qw3Er5Ty7U"}},
	{"Go nested struct", "{Name:x Auth:{User:ada Code:Ab1Cd2Ef3G}}", []string{"Ab1Cd2Ef3G"}},
	{"slog group", "[password=Nb7Vm3Cx1Z user=bob]", []string{"Nb7Vm3Cx1Z"}},
	{"Go map in %v", "token:Tq9Wd8Es7R", []string{"Tq9Wd8Es7R"}},
	// DSNs and URLs.
	{"DSN with a scheme", "dial postgres://app:Lk8Jh6Gf4D@db:5432/app failed", []string{"Lk8Jh6Gf4D"}},
	{"MySQL DSN", "open bob:Sd3Fg5Hj7K@tcp(db:3306)/app?parseTime=true: refused", []string{"Sd3Fg5Hj7K"}},
	{"MySQL DSN over a socket", "root:Qa1Ws2Ed3R@unix(/tmp/mysql.sock)/app", []string{"Qa1Ws2Ed3R"}},
	{"DSN without a scheme", "connecting to app:Dk4Fl6Gm8N@db.internal:5432/orders", []string{"Dk4Fl6Gm8N"}},
	{"URL password with /", "https://bob:Vq2/Zk8Lw@host.example/x", []string{"Vq2", "Zk8Lw"}},
	{"URL password with #", "redis://:Hn4#Tb6Mc@cache:6379/0", []string{"Hn4", "Tb6Mc"}},
	{"URL password with ?", "amqp://guest:Ry7?Ux2Io@mq.example/", []string{"Ry7", "Ux2Io"}},
	{"URL password with @", "mongodb://root:Mp3@Kq5Wz@mongo:27017", []string{"Mp3", "Kq5Wz"}},
	// Authorization schemes.
	{"Bearer", "Authorization: Bearer Ge5Hr7Ju9Ki", []string{"Ge5Hr7Ju9Ki"}},
	{"bearer lowercase", "authorization: bearer Wd6Fs8Ga0Q", []string{"Wd6Fs8Ga0Q"}},
	{"Basic", "Authorization: Basic Ym9iOkZ4N1p3OVFy", []string{"Ym9iOkZ4N1p3OVFy"}},
	{"token scheme", "Authorization: token Ol3Ik5Uj7Yh", []string{"Ol3Ik5Uj7Yh"}},
	{"token scheme in text", "retrying with token 9f8e7d6c5b4a39281706f5e4d3c2b1a0", []string{"9f8e7d6c5b4a39281706f5e4d3c2b1a0"}},
	{"Digest", `Authorization: Digest username="bob", realm="api", nonce="Nc8Xd2Zs4A", uri="/x", response="6629fae49393a05397450978507c4ef1"`,
		[]string{"6629fae49393a05397450978507c4ef1"}},
	{"metadata", "md: authorization=[Bearer Te1Yr3Ue5W]", []string{"Te1Yr3Ue5W"}},
	{"gRPC error", "rpc error: code = Unauthenticated desc = bad credentials Bearer Lo9Ki8Ju7H", []string{"Lo9Ki8Ju7H"}},
	{"curl header", `curl -H "X-Api-Key: Kp9Ol7Ik5J" https://api.example`, []string{"Kp9Ol7Ik5J"}},
	{"Cookie", "Cookie: PHPSESSID=Hu8Jy6Tg4R; lang=en", []string{"Hu8Jy6Tg4R"}},
	{"Set-Cookie", "Set-Cookie: session_id=Bv3Nc5Xz7M; Path=/; HttpOnly", []string{"Bv3Nc5Xz7M"}},
	{"JWT", "id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Jw4Tk6Lm8N", []string{"Jw4Tk6Lm8N"}},
	// PEM.
	{"PEM RSA", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7Xk2Lq9Wm\nQz4Rt8Yp1Vn\n-----END RSA PRIVATE KEY-----\n",
		[]string{"MIIEpAIBAAKCAQEA7Xk2Lq9Wm", "Qz4Rt8Yp1Vn"}},
	{"PEM OpenSSH", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
		[]string{"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"}},
	{"PEM escaped in JSON", `{"type":"service_account","key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n"}`,
		[]string{"MIIEvQIBADANBgkqhkiG9w0B"}},
	{"PEM cut short", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpY", []string{"MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpY"}},
	// Well-known key prefixes, bare in text.
	{"Stripe live key", "charge failed with sk_live_51HqLyjWDarjtT1zdp7dc", []string{"51HqLyjWDarjtT1zdp7dc"}},
	{"Stripe test key", "using sk_test_4eC39HqLyjWDarjtT1zdp7dc", []string{"4eC39HqLyjWDarjtT1zdp7dc"}},
	{"GitHub token", "clone with ghp_R2d2C3poL8aK9mN0bV4cX7zQ1wE5rT6yU8iO", []string{"R2d2C3poL8aK9mN0bV4cX7zQ1wE5rT6yU8iO"}},
	{"GitHub fine-grained token", "github_pat_11ABCDEFG0Xy9Wv8Ut7Sr6Qp5On4Ml3Kj2", []string{"11ABCDEFG0Xy9Wv8Ut7Sr6Qp5On4Ml3Kj2"}},
	{"Slack bot token", "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", []string{"AbCdEfGhIjKlMnOpQrStUvWx"}},
	{"Slack user token", "xoxp-210987654321-3210987654321-ZyXwVuTsRqPoNmLkJiHg", []string{"ZyXwVuTsRqPoNmLkJiHg"}},
	{"AWS access key ID", "aws: AKIAIOSFODNN7EXAMPLE denied", []string{"IOSFODNN7EXAMPLE"}},
	{"AWS secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
	{"GitLab token", "glpat-Xy9Wv8Ut7Sr6Qp5On4Ml", []string{"Xy9Wv8Ut7Sr6Qp5On4Ml"}},
	{"Google API key", "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", []string{"SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"}},
	{"npm token", "//registry.npmjs.org/:_authToken=npm_Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hj", []string{"Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hj"}},
	// Key spellings.
	{"Authorisation", "Authorisation: Ws4Ed6Rf8T", []string{"Ws4Ed6Rf8T"}},
	{"authentication", "authentication=Yh5Uj7Ik9O", []string{"Yh5Uj7Ik9O"}},
	{"passphrase", "gpg passphrase=Gp2Hq4Jr6S", []string{"Gp2Hq4Jr6S"}},
	{"pin", "card pin: 739150", []string{"739150"}},
	{"PHPSESSID", "PHPSESSID: Qe3Wr5Ty7U", []string{"Qe3Wr5Ty7U"}},
	{"mfa", "mfa_code=Mf84Xz26Qw", []string{"Mf84Xz26Qw"}},
	{"privkey", "privkey=Lp0Ok9Ij8U", []string{"Lp0Ok9Ij8U"}},
	{"Ocp-Apim-Subscription-Key", "Ocp-Apim-Subscription-Key: 3f2b8c9d1e4a4b6c8d0e2f4a6b8c0d2e", []string{"3f2b8c9d1e4a4b6c8d0e2f4a6b8c0d2e"}},
}

// valueCorpus are Go values logged with slog.Any (and so shown through
// fmt's %v), each holding one secret.
var valueCorpus = []struct {
	name   string
	value  func() any
	secret string
}{
	{"map", func() any { return map[string]string{"password": "Vm1Xn3Bc5Z", "user": "ada"} }, "Vm1Xn3Bc5Z"},
	{"struct", func() any {
		return struct {
			User     string
			Password string
		}{"ada", "Vs2Dn4Fm6G"}
	}, "Vs2Dn4Fm6G"},
	{"proto", func() any {
		s, _ := structpb.NewStruct(map[string]any{"api_key": "Vp7Kq9Lw1E"})
		return s
	}, "Vp7Kq9Lw1E"},
}

// channelzSecrets are put in what channelz shows: a channel's target and the
// addresses its resolver gives, which its trace events repeat.
var channelzSecrets = []string{"Cz1Xv3Bn5M", "Tz2Xc4Vb6N", "Cq8Wm2Kd4P", "Ra5Sd7Fg9H", "Bz4Nm6Qw8E"}

func TestCorpusSize(t *testing.T) {
	if n := len(corpus) + len(valueCorpus); n < 60 {
		t.Errorf("the corpus holds %d secrets; want at least 60", n)
	}
}

// corpusRun is a processor holding the corpus, and a handler over it with
// and one without redaction.
type corpusRun struct {
	sp    *debugz.SpanProcessor
	spans []trace.SpanContext // one per corpus entry
	trace trace.TraceID
}

// emit ends, under one trace, a server span per entry of the corpus, the
// text in an attribute, an event name, the status message, a log message
// and a log attribute; and a span for each value of valueCorpus, logged.
func (c *corpusRun) emit(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(c.sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer("go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc")
	log := slog.New(c.sp.LogHandler(slog.DiscardHandler))
	root, parent := tr.Start(context.Background(), "corpus")
	c.trace = parent.SpanContext().TraceID()
	grpcAttrs := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "corpus.S/M")}
	for i, e := range corpus {
		ctx, s := tr.Start(root, "corpus.S/M", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(append(grpcAttrs, attribute.String("note", e.text), attribute.Int("corpus.entry", i))...))
		s.AddEvent(e.text)
		log.WarnContext(ctx, e.text, "detail", e.text)
		s.SetAttributes(attribute.String("rpc.response.status_code", "UNAUTHENTICATED"))
		s.SetStatus(otelcodes.Error, e.text)
		s.End()
		c.spans = append(c.spans, s.SpanContext())
	}
	for _, v := range valueCorpus {
		ctx, s := tr.Start(root, "corpus.S/V", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "corpus.S/V")))
		log.WarnContext(ctx, "request", "req", v.value())
		s.End()
		c.spans = append(c.spans, s.SpanContext())
	}
	parent.End()
	// The last span and record, which a follow stream reads last.
	ctx, s := tr.Start(context.Background(), "corpus.S/End", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "corpus.S/End")))
	log.WarnContext(ctx, "corpus-end")
	s.End()
}

// startChannels makes client channels whose target and resolved addresses
// hold channelzSecrets, and has them try to connect (to nothing), so that
// channelz records them and their trace events.
func startChannels(t *testing.T) {
	r := manual.NewBuilderWithScheme("corpus")
	r.InitialState(resolver.State{Addresses: []resolver.Address{
		{Addr: "admin:Cq8Wm2Kd4P@127.0.0.1:1"}, {Addr: "127.0.0.1:1?token=Ra5Sd7Fg9H"}, {Addr: "proxy Bearer Bz4Nm6Qw8E"}}})
	for _, target := range []string{"passthrough:///bob:Cz1Xv3Bn5M@127.0.0.1:1?token=Tz2Xc4Vb6N", "corpus:///db.example"} {
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithResolvers(r))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		conn.Connect()
	}
}

// output is what one GET shows.
type output struct {
	path, body string
}

// follow opens the follow streams and live pages of h on a server, and
// returns a function that waits for the end of the corpus on each and
// returns what they showed.
func follow(t *testing.T, h http.Handler) func() []output {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	paths := []string{"/api/spans?follow=1", "/api/logs?follow=1"}
	type stream struct {
		path string
		mu   sync.Mutex
		body strings.Builder
		done chan struct{}
	}
	var streams []*stream
	for _, p := range paths {
		req, _ := http.NewRequest("GET", ts.URL+p, nil)
		req.Host = "localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		s := &stream{path: p, done: make(chan struct{})}
		streams = append(streams, s)
		go func() {
			defer close(s.done)
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(nil, 1<<22)
			for sc.Scan() {
				s.mu.Lock()
				s.body.WriteString(sc.Text() + "\n")
				s.mu.Unlock()
				if strings.Contains(sc.Text(), "corpus-end") || strings.Contains(sc.Text(), "corpus.S/End") {
					return
				}
			}
		}()
	}
	return func() []output {
		var out []output
		for _, s := range streams {
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				t.Fatalf("GET %s: the end of the corpus not seen in 20s", s.path)
			}
			s.mu.Lock()
			out = append(out, output{s.path, s.body.String()})
			s.mu.Unlock()
		}
		return out
	}
}

// outputs reads every output of h that shows the corpus.
func (c *corpusRun) outputs(t *testing.T, h http.Handler) []output {
	var out []output
	get := func(path string) string {
		code, body := grpctest.Get(t, h, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d: %.300s", path, code, body)
		}
		out = append(out, output{path, body})
		return body
	}
	for _, sc := range c.spans {
		get("/spans/" + sc.SpanID().String())
		get("/api/spans/" + sc.SpanID().String())
	}
	get("/api/traces/" + c.trace.String())
	get("/traces/" + c.trace.String())
	get("/api/spans?limit=1000")
	get("/spans?limit=1000")
	get("/logs?limit=1000")
	get("/api/logs?limit=1000")
	for _, p := range []string{"/live/logs?limit=1000", "/live/spans?limit=1000"} {
		code, ev := grpctest.FirstEvent(t, h, p)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d", p, code)
		}
		out = append(out, output{p, ev})
	}
	get("/channelz")
	var o struct {
		Channels []struct {
			ID          int64
			Subchannels []struct{ ID int64 }
		}
	}
	if err := json.Unmarshal([]byte(get("/api/channelz")), &o); err != nil {
		t.Fatal(err)
	}
	for _, ch := range o.Channels {
		ids := []int64{ch.ID}
		for _, sc := range ch.Subchannels {
			ids = append(ids, sc.ID)
		}
		for _, id := range ids {
			get("/channelz/channels/" + strconv.FormatInt(id, 10))
			get("/api/channelz/channels/" + strconv.FormatInt(id, 10))
		}
	}
	return out
}

// TestCorpusRedactedEverywhere pushes the corpus through every output, with
// and without redaction: redacted, no part of a secret shows anywhere;
// without, every secret shows in every output that shows its kind of
// field, so the redacted run proves something.
func TestCorpusRedactedEverywhere(t *testing.T) {
	cz, err := channelz.New()
	if err != nil {
		t.Fatal(err)
	}
	defer cz.Close()
	startChannels(t)
	c := &corpusRun{sp: debugz.NewSpanProcessor()}
	hidden := debugz.NewHandler(c.sp, cz.Option())
	shown := debugz.NewHandler(c.sp, cz.Option(), debugz.WithoutRedaction())
	followHidden, followShown := follow(t, hidden), follow(t, shown)
	c.emit(t)
	grpctest.WaitFor(t, "channelz to hold the channels' events", func() bool {
		_, body := grpctest.Get(t, shown, "/api/channelz")
		return strings.Contains(body, "Cz1Xv3Bn5M")
	})

	var secrets []string
	for _, e := range corpus {
		secrets = append(secrets, e.secret...)
	}
	for _, v := range valueCorpus {
		secrets = append(secrets, v.secret)
	}
	secrets = append(secrets, channelzSecrets...)

	// Without redaction: each secret shows somewhere in each kind of output.
	showOuts := append(c.outputs(t, shown), followShown()...)
	for _, kind := range []string{"/spans/", "/api/spans/", "/api/traces/", "/traces/", "/api/spans?", "/spans?",
		"/logs?", "/api/logs?", "/live/logs", "/live/spans", "/api/spans?follow", "/api/logs?follow", "channelz"} {
		var all strings.Builder
		for _, o := range showOuts {
			if strings.HasPrefix(o.path, kind) || kind == "channelz" && strings.Contains(o.path, kind) {
				all.WriteString(o.body)
			}
		}
		body := all.String()
		if body == "" {
			t.Errorf("no output %s read", kind)
		}
		want := secretsShownBy(kind)
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("WithoutRedaction: %s does not show %q; the test does not put it where this output shows it", kind, s)
			}
		}
	}

	// Redacted: no secret anywhere.
	leaks := map[string][]string{}
	for _, o := range append(c.outputs(t, hidden), followHidden()...) {
		for _, s := range secrets {
			if strings.Contains(o.body, s) {
				leaks[s] = append(leaks[s], o.path)
			}
		}
	}
	for _, s := range secrets {
		if paths := leaks[s]; len(paths) > 0 {
			t.Errorf("%s leaks in %d outputs, as %s", s, len(paths), strings.Join(uniqueKinds(paths), ", "))
		}
	}
	if len(leaks) > 0 {
		entries := 0
		for _, e := range corpus {
			for _, s := range e.secret {
				if len(leaks[s]) > 0 {
					entries++
					break
				}
			}
		}
		for _, v := range valueCorpus {
			if len(leaks[v.secret]) > 0 {
				entries++
			}
		}
		t.Errorf("%d of %d secret parts leak, from %d of %d entries of the corpus and Go values",
			len(leaks), len(secrets), entries, len(corpus)+len(valueCorpus))
	}
}

// secretsShownBy are the secrets an output (by its path's prefix) shows when
// nothing is redacted: the span lists and the trace's page show names and
// status messages, which hold the corpus text; the logs every record,
// values included.
func secretsShownBy(kind string) []string {
	var out []string
	if kind == "channelz" {
		return channelzSecrets
	}
	for _, e := range corpus {
		out = append(out, e.secret...)
	}
	if strings.Contains(kind, "logs") || kind == "/spans/" || kind == "/api/spans/" {
		for _, v := range valueCorpus {
			out = append(out, v.secret)
		}
	}
	return out
}

// uniqueKinds names the outputs of paths without their IDs.
func uniqueKinds(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if i := strings.LastIndexByte(p, '/'); i > 0 && !strings.Contains(p[i:], "?") {
			p = p[:i+1] + "…"
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
