package io.epochal.zooanimal;

/**
 * A store node's HTTP address. Parsed from {@code host:port} ({@code [v6]:port} for IPv6).
 *
 * @param host host name or address
 * @param port HTTP port
 */
public record StoreNodeAddress(String host, int port) {
  public StoreNodeAddress {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must not be empty");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " is out of range [1, 65535]");
    }
  }

  /**
   * Parses {@code host:port}.
   *
   * @throws IllegalArgumentException with a message naming the text when it is not of that form
   */
  public static StoreNodeAddress parse(String text) {
    String t = text.trim();
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new IllegalArgumentException("\"" + text + "\" is not host:port");
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      return new StoreNodeAddress(host, Integer.parseInt(t.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not host:port", e);
    }
  }

  /** {@code http://host:port}. */
  public String baseUrl() {
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
