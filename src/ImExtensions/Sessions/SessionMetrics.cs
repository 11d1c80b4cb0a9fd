namespace MqttIm.ImExtensions.Sessions;

/// <summary>Metrics of session housekeeping.</summary>
internal static class SessionMetrics
{
    public static readonly Prometheus.Counter Expired = Prometheus.Metrics.CreateCounter(
        "mqttim_sessions_expired_total", "Persistent sessions deleted because their device stayed away past the (capped) session expiry.");

    public static readonly Prometheus.Counter TokenExpiryDisconnects = Prometheus.Metrics.CreateCounter(
        "mqttim_token_expiry_disconnects_total", "Connections closed because their access token expired (plus Auth:ExpiryGrace).");
}
