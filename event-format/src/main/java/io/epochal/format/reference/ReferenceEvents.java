package io.epochal.format.reference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The reference event mix used by benchmarks, load harnesses, tests and the demo: web requests
 * (type {@code WEB}, subtypes {@code app} and {@code api}), load-balancer log lines ({@code LB},
 * {@code haproxy}) and cron runs ({@code CRON}, empty subtype), in proportions 70/20/10, with field
 * counts and value cardinalities taken from real logs of that kind: a few hundred hosts, URLs with
 * Zipf-distributed numeric ids, a few dozen user agents, skewed status codes, log-normal durations
 * with millisecond decimals, nested timing maps, visitors (session, user, address, agent) that make
 * several requests each out of a pool of 20,000 active sessions, and per-event unique request ids
 * that no compressor can shrink.
 *
 * <p>Deterministic for a seed. Not thread-safe; use one generator per thread.
 */
public final class ReferenceEvents {
  /** One generated event and the type and subtype it is emitted with. */
  public record Event(String type, String subtype, Map<String, Object> fields) {}

  private static final String[] METHODS = {"GET", "GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"};
  private static final String[] PATHS = {
    "/users/%d", "/users/%d/orders", "/users/%d/orders/%d", "/products/%d", "/search",
    "/cart/%d/items", "/checkout/%d", "/api/v2/items/%d", "/static/app.%d.js", "/login",
    "/api/v2/recommendations/%d", "/reviews/%d/%d"
  };
  private static final String[] AGENTS = new String[40];
  private static final String[] COUNTRIES = {"US", "US", "US", "DE", "FR", "GB", "NL", "JP", "BR", "IN", "CA", "ES"};
  private static final String[] JOBS = new String[30];
  private static final String[] BACKENDS = {"web_app", "web_api", "static", "search", "checkout", "auth"};
  private static final String[] TERMINATION = {"----", "----", "----", "----", "----", "cD--", "sH--", "CC--"};
  private static final String[] REFERERS = {
    "", "", "https://www.example.com/", "https://www.google.com/", "https://www.example.com/search",
    "https://m.example.com/", "https://partner.example.net/deals"
  };

  static {
    String[] browsers = {"Chrome/126.0.0.0", "Firefox/127.0", "Safari/605.1.15", "Edg/126.0.2592.68"};
    String[] systems = {
      "Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
      "iPhone; CPU iPhone OS 17_5 like Mac OS X", "Linux; Android 14; Pixel 8",
      "Windows NT 6.1; WOW64", "iPad; CPU OS 16_6 like Mac OS X", "X11; Ubuntu; Linux x86_64", "Linux; Android 13; SM-S918B",
      "Macintosh; Intel Mac OS X 14_5"
    };
    for (int i = 0; i < AGENTS.length; i++) {
      AGENTS[i] =
          "Mozilla/5.0 ("
              + systems[i % systems.length]
              + ") AppleWebKit/537.36 (KHTML, like Gecko) "
              + browsers[(i / systems.length) % browsers.length];
    }
    String[] verbs = {"rebuild", "export", "cleanup", "sync", "report", "rotate"};
    String[] things = {"search-index", "invoices", "sessions", "inventory", "sitemaps"};
    for (int i = 0; i < JOBS.length; i++) {
      JOBS[i] = verbs[i % verbs.length] + "-" + things[(i / verbs.length) % things.length];
    }
  }

  /** Visitors active at once; each makes several requests, as real sessions do. */
  private static final int SESSIONS = 20_000;

  /** What stays the same across one visitor's requests. */
  private record Session(String id, long userId, String ip, String agent, String country, boolean loggedIn) {}

  private final SplittableRandom random;
  private final Session[] sessions = new Session[SESSIONS];
  private long requestCounter;

  public ReferenceEvents(long seed) {
    this.random = new SplittableRandom(seed);
    this.requestCounter = random.nextLong(1L << 40);
  }

  /** A visitor: most requests come from a minority of busy sessions, which churn over time. */
  private Session session() {
    int i = (int) zipf(SESSIONS) - 1;
    Session s = sessions[i];
    if (s == null || random.nextInt(50) == 0) {
      long user = zipf(2_000_000);
      s = new Session(
          hex(16),
          user,
          "10." + random.nextInt(16) + "." + random.nextInt(256) + "." + random.nextInt(256),
          AGENTS[(int) zipf(AGENTS.length) - 1],
          COUNTRIES[random.nextInt(COUNTRIES.length)],
          random.nextInt(3) != 0);
      sessions[i] = s;
    }
    return s;
  }

  /** The next event of the mix. */
  public Event next() {
    int r = random.nextInt(100);
    if (r < 70) {
      return new Event("WEB", r < 50 ? "app" : "api", web());
    } else if (r < 90) {
      return new Event("LB", "haproxy", loadBalancer());
    }
    return new Event("CRON", "", cron());
  }

  /** {@code n} events of the mix. */
  public List<Event> next(int n) {
    List<Event> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(next());
    }
    return out;
  }

  /** A web request event (about 20 fields, a nested timing map). */
  public Map<String, Object> web() {
    Map<String, Object> e = new LinkedHashMap<>(32);
    int status = status();
    Session s = session();
    e.put("host", "web-" + pad(random.nextInt(240)) + ".dc1.example.com");
    e.put("method", METHODS[random.nextInt(METHODS.length)]);
    e.put("url", url());
    e.put("status", status);
    e.put("duration_ms", logNormal(3.2, 0.9));
    e.put("bytes", (long) (logNormal(8.5, 1.4)));
    e.put("user_agent", s.agent());
    e.put("user_id", s.userId());
    e.put("session", s.id());
    e.put("request_id", Long.toHexString(++requestCounter) + "-" + hex(8));
    e.put("client_ip", s.ip());
    e.put("country", s.country());
    e.put("referer", REFERERS[random.nextInt(REFERERS.length)]);
    e.put("logged_in", s.loggedIn());
    e.put("cache", random.nextInt(10) < 3 ? "HIT" : "MISS");
    e.put("app_version", "2026.11." + (random.nextInt(4) + 1));
    Map<String, Object> timing = new LinkedHashMap<>(8);
    timing.put("dns", round(random.nextDouble() * 2));
    timing.put("connect", round(random.nextDouble() * 5));
    timing.put("db", round(logNormal(2.0, 1.0)));
    timing.put("render", round(logNormal(2.5, 0.7)));
    e.put("timing", timing);
    if (status >= 500) {
      e.put("error", random.nextBoolean() ? "upstream timeout" : "java.lang.IllegalStateException: pool exhausted");
    }
    if (random.nextInt(20) == 0) {
      List<Object> experiments = new ArrayList<>(3);
      experiments.add("exp-" + random.nextInt(12));
      experiments.add("exp-" + (12 + random.nextInt(12)));
      e.put("experiments", experiments);
    }
    return e;
  }

  /** A load-balancer (haproxy) log event. */
  public Map<String, Object> loadBalancer() {
    Map<String, Object> e = new LinkedHashMap<>(24);
    String backend = BACKENDS[random.nextInt(BACKENDS.length)];
    e.put("lb", "lb-" + pad(random.nextInt(8)));
    e.put("frontend", random.nextInt(10) < 8 ? "https_in" : "http_in");
    e.put("backend", backend);
    e.put("server", backend + "-" + pad(random.nextInt(40)));
    e.put("client_ip", random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(256));
    e.put("client_port", 1024 + random.nextInt(64_000));
    e.put("status", status());
    e.put("bytes_in", (long) logNormal(6.0, 1.0));
    e.put("bytes_out", (long) logNormal(8.5, 1.4));
    Map<String, Object> t = new LinkedHashMap<>(8);
    t.put("tq", random.nextInt(3));
    t.put("tw", random.nextInt(2));
    t.put("tc", random.nextInt(4));
    t.put("tr", (long) logNormal(3.0, 1.0));
    t.put("tt", (long) logNormal(3.5, 1.0));
    e.put("time", t);
    e.put("termination_state", TERMINATION[random.nextInt(TERMINATION.length)]);
    e.put("actconn", random.nextInt(2_000));
    e.put("retries", random.nextInt(50) == 0 ? 1 : 0);
    e.put("request", METHODS[random.nextInt(METHODS.length)] + " " + url() + " HTTP/1.1");
    return e;
  }

  /** A cron job run event. */
  public Map<String, Object> cron() {
    Map<String, Object> e = new LinkedHashMap<>(16);
    String job = JOBS[random.nextInt(JOBS.length)];
    e.put("host", "batch-" + pad(random.nextInt(12)) + ".dc1.example.com");
    e.put("job", job);
    e.put("run_id", job + "-" + (++requestCounter));
    e.put("schedule", random.nextBoolean() ? "*/5 * * * *" : "0 * * * *");
    e.put("duration_s", round(logNormal(2.0, 1.2)));
    int exit = random.nextInt(40) == 0 ? 1 : 0;
    e.put("exit_code", exit);
    e.put("ok", exit == 0);
    e.put("rows", (long) logNormal(7.0, 2.0));
    List<Object> tags = new ArrayList<>(2);
    tags.add("team-" + random.nextInt(6));
    tags.add(random.nextBoolean() ? "critical" : "best-effort");
    e.put("tags", tags);
    if (exit != 0) {
      e.put("stderr", "error: lock held by pid " + random.nextInt(65_536));
    }
    return e;
  }

  private String url() {
    String p = PATHS[random.nextInt(PATHS.length)];
    String s = String.format(p, zipf(100_000), random.nextInt(1_000));
    if (random.nextInt(4) == 0) {
      s += "?page=" + (1 + random.nextInt(20));
    }
    return s;
  }

  private int status() {
    int r = random.nextInt(1000);
    if (r < 880) {
      return 200;
    } else if (r < 930) {
      return 304;
    } else if (r < 960) {
      return 302;
    } else if (r < 985) {
      return 404;
    } else if (r < 995) {
      return 500;
    }
    return 503;
  }

  /** A value in [1, n] skewed towards small values (Zipf-like, s about 1). */
  private long zipf(long n) {
    double u = random.nextDouble();
    return Math.max(1, Math.min(n, (long) Math.exp(u * Math.log(n + 1.0))));
  }

  private double logNormal(double mu, double sigma) {
    double g = Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    return round(Math.exp(mu + sigma * g));
  }

  private static double round(double d) {
    return Math.round(d * 1000) / 1000.0;
  }

  private String hex(int digits) {
    StringBuilder b = new StringBuilder(digits);
    for (int i = 0; i < digits; i++) {
      b.append(Character.forDigit(random.nextInt(16), 16));
    }
    return b.toString();
  }

  private static String pad(int n) {
    return n < 10 ? "00" + n : n < 100 ? "0" + n : Integer.toString(n);
  }
}
