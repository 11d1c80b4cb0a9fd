using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>An MQTTnet client with options of the test's choosing (sessions, wills) that collects what it receives.</summary>
internal sealed class ReceivingClient : IAsyncDisposable
{
    private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();

    private ReceivingClient(IMqttClient client)
    {
        Client = client;
        client.ApplicationMessageReceivedAsync += args =>
        {
            _received.Writer.TryWrite(args.ApplicationMessage);
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public MqttClientConnectResult ConnectResult { get; private set; } = null!;

    /// <summary>Connects as <paramref name="user"/> (with a fresh token) or anonymously (null); throws when refused.</summary>
    public static async Task<ReceivingClient> ConnectAsync(BrokerProcess broker, string? user, string clientId, MqttProtocolVersion version,
        Action<MqttClientOptionsBuilder> configure)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", broker.MqttPort)
            .WithClientId(clientId)
            .WithProtocolVersion(version)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (user is not null)
        {
            builder.WithCredentials(user, broker.Token(user));
        }

        configure(builder);
        var receiving = new ReceivingClient(new MqttClientFactory().CreateMqttClient());
        receiving.ConnectResult = await receiving.Client.ConnectAsync(builder.Build());
        if (receiving.ConnectResult.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"connect of {clientId} failed: {receiving.ConnectResult.ResultCode} {receiving.ConnectResult.ReasonString}");
        }

        return receiving;
    }

    public async Task<MqttApplicationMessage> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Client.Options?.ClientId} received nothing within {timeout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Client.IsConnected)
            {
                await Client.DisconnectAsync();
            }
        }
        catch (Exception)
        {
            // Already gone (the broker was killed).
        }

        Client.Dispose();
    }
}
