using System.ComponentModel.DataAnnotations;

namespace MqttIm.Broker.Hosting;

/// <summary>Configuration section <c>Listen</c>: where MQTT (TCP, TLS, WebSocket) and HTTP are served. Port 0 picks a free port.</summary>
public sealed class BrokerListenOptions
{
    public const string SectionName = "Listen";

    [Required]
    public string Address { get; set; } = "0.0.0.0";

    [Range(0, 65535)]
    public int MqttPort { get; set; } = 1883;

    /// <summary>HTTP API, metrics and MQTT over WebSocket.</summary>
    [Range(0, 65535)]
    public int HttpPort { get; set; } = 8080;

    public string WebSocketPath { get; set; } = "/mqtt";

    /// <summary>MQTT over TLS; -1 (the default) disables it; needs <see cref="CertificatePath"/>.</summary>
    [Range(-1, 65535)]
    public int MqttTlsPort { get; set; } = -1;

    /// <summary>HTTPS (API and MQTT over secure WebSocket, wss); -1 (the default) disables it; needs <see cref="CertificatePath"/>.</summary>
    [Range(-1, 65535)]
    public int HttpsPort { get; set; } = -1;

    /// <summary>PFX/PKCS#12 certificate for the TLS listeners.</summary>
    public string CertificatePath { get; set; } = "";

    public string CertificatePassword { get; set; } = "";
}
