// Package metrics is a small, dependency-free implementation of Prometheus
// metrics exposed in the text exposition format, version 0.0.4.
//
// Herald deliberately does not depend on prometheus/client_golang: it must
// start in a few MiB of RSS, cross-compile for small ARM boards, and must not
// force a process-global registry on applications that embed it. This
// package therefore has no global state except the process start time
// recorded at init (see [RuntimeMetrics]); every metric lives in a
// [Registry] created with [NewRegistry].
//
// # Usage
//
//	reg := metrics.NewRegistry()
//	msgs := reg.CounterVec("herald_messages_total", "Messages delivered.", "transport")
//	lat := reg.Histogram("herald_publish_seconds", "Publish latency.", metrics.LatencyBuckets())
//	metrics.RuntimeMetrics(reg)
//	http.Handle("/metrics", reg.Handler())
//
//	ws := msgs.With("websocket") // cache the child on hot paths
//	start := time.Now()
//	ws.Inc()
//	lat.ObserveDuration(start)
//
// # Programmer errors panic
//
// Constructors panic when a metric name does not match
// [a-zA-Z_:][a-zA-Z0-9_:]*, when a label name does not match
// [a-zA-Z_][a-zA-Z0-9_]* or starts with the reserved prefix "__", when a
// label name is repeated, when a histogram uses the label "le", when the
// histogram buckets are not strictly increasing (or contain NaN), when a
// callback is nil, and when a name is already registered. Because a
// histogram named h also exposes the series h_bucket, h_sum and h_count,
// registering any metric under one of those names (or a histogram whose
// derived names clash with an existing metric) panics too. These are
// mistakes in the program, not run-time conditions, and are meant to be
// caught by the first test that constructs the metrics.
//
// [CounterVec.With], [GaugeVec.With] and [HistogramVec.With] panic when the
// number of values differs from the number of label names. Label values
// themselves are data: any string is accepted. Invalid UTF-8 is replaced
// with U+FFFD (so two values that differ only in invalid bytes share one
// child) and values are copied, so they never pin a caller's larger buffer.
//
// # Value semantics
//
// Counters only go up: [Counter.Add] silently ignores negative, zero and NaN
// increments instead of panicking, because a panic on a hot path of a
// network server is worse than a dropped bad sample. [Histogram.Observe]
// ignores NaN for the same reason (a single NaN would turn _sum into NaN for
// the life of the process). Gauges accept any value.
//
// # Concurrency and cost
//
// All methods are safe for concurrent use. Counter.Inc/Add, Gauge.Set/Add,
// and Histogram.Observe are lock-free (atomic adds and float64 bit-pattern
// compare-and-swap loops) and do not allocate. Histograms use a hot/cold
// double buffer so every scrape sees a consistent snapshot: the le="+Inf"
// bucket always equals _count, and _sum covers exactly the counted
// observations. The With methods of the vectors take a read lock and do not
// allocate for label combinations that already exist (with two or more
// labels, as long as the values plus separators fit in 256 bytes); still,
// cache the returned child when the labels are known in advance. Every distinct label combination lives until deleted with Delete,
// so never use unbounded data (user IDs, topic names from clients, ...) as
// label values. A child obtained before Delete keeps working but is no
// longer exposed.
//
// # Exposition
//
// [Registry.WriteTo] writes metric families sorted by name and, within a
// vector, children sorted by label values. Families of a vector without any
// child are omitted. HELP text has backslash and newline escaped; label
// values additionally have the double quote escaped. Floats that are whole
// numbers with magnitude below 2^53 are written as integers (1000000, not
// 1e+06); other finite values use the shortest representation that parses
// back exactly; non-finite values are written +Inf, -Inf and NaN.
// Callbacks registered with GaugeFunc and CounterFunc run during the scrape,
// outside the registry lock, and may run concurrently when scrapes overlap.
//
// [Registry.Handler] serves the registry for GET and HEAD with content type
// [ContentType]. It does not gzip responses: the compressor's working memory
// would be larger than a typical Herald scrape.
package metrics
