using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MqttIm.Broker.Hosting;

/// <summary>The Kestrel listeners, whose endpoints carry the real port once bound (port 0 picks a free one).</summary>
internal sealed class BoundEndpoints
{
    public ListenOptions? Mqtt { get; set; }

    public ListenOptions? MqttTls { get; set; }

    public ListenOptions? Http { get; set; }

    public ListenOptions? Https { get; set; }

    public static int PortOf(ListenOptions? options) => (options?.EndPoint as System.Net.IPEndPoint)?.Port ?? -1;
}
