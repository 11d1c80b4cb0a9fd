using System.Collections;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Messaging;

/// <summary>
/// The embedded publish pipeline in process, without sockets: an uplink <c>im/c2c/{peer}</c> publish as MQTTnet hands it
/// to the hook, decoded and checked, group-committed to a real SQLite file, fanned out to the peer's online device (a
/// counting channel in place of its MQTTnet session; the sender's own device is online as well). Shared by the allocation-budget test and tests/MqttIm.Microbench.
/// </summary>
public sealed class PublishPipelineHarness : IAsyncDisposable
{
    private readonly string _dataDirectory;
    private readonly ServiceProvider _services;
    private readonly IHostedService[] _loops;
    private readonly ChatSendHandler _chat;
    private readonly ConnectedDevice _sender;
    private readonly CountingChannel _peerChannel = new();
    private readonly CountingChannel _senderChannel = new();
    private readonly Func<MqttApplicationMessage, InterceptingPublishEventArgs> _newArgs;
    private long _sent;

    private PublishPipelineHarness(ServiceProvider services, IHostedService[] loops, string dataDirectory)
    {
        _services = services;
        _loops = loops;
        _dataDirectory = dataDirectory;
        _chat = services.GetRequiredService<ChatSendHandler>();
        _sender = new ConnectedDevice(Sender, Sender + "-phone", IsMqtt5: true, WireFormat.Json, "127.0.0.1:50001");
        _newArgs = ArgsFactory(_sender.ClientId, Sender);
    }

    public const string Sender = "alice";

    public const string Peer = "bob";

    /// <summary>Messages the peer's device was handed so far.</summary>
    public long Delivered => _peerChannel.Count;

    public static async Task<PublishPipelineHarness> StartAsync()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-pipeline-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:DataDirectory"] = dataDirectory,
                // Allocation does not depend on fsync; NORMAL keeps a thousand sequential commits quick.
                ["Storage:Synchronous"] = "Normal",
            })
            .Build();
        var services = new ServiceCollection().AddLogging();
        services.AddMqttImExtensions(configuration);
        var provider = services.BuildServiceProvider();
        IHostedService[] loops = [provider.GetRequiredService<DeliveryLoop>(), provider.GetRequiredService<MessageCommitQueue>()];
        foreach (var loop in loops)
        {
            await loop.StartAsync(CancellationToken.None);
        }

        var harness = new PublishPipelineHarness(provider, loops, dataDirectory);
        var router = provider.GetRequiredService<IOnlineRouter>();
        await router.RegisterAsync(new OnlineDevice(Peer, Peer + "-phone", WireFormat.Json, "127.0.0.1:50002", harness._peerChannel), CancellationToken.None);
        // The sending device is on its inbox too, as a chat device is: whatever the broker sends it back costs here as well.
        await router.RegisterAsync(new OnlineDevice(Sender, harness._sender.ClientId, WireFormat.Json, harness._sender.ConnectionKey, harness._senderChannel), CancellationToken.None);
        return harness;
    }

    /// <summary>What MQTTnet would hand the hook for the next <paramref name="count"/> sends (built before measuring: MQTTnet's own cost).</summary>
    public InterceptingPublishEventArgs[] NextPublishes(int count)
    {
        var publishes = new InterceptingPublishEventArgs[count];
        for (var i = 0; i < count; i++)
        {
            var id = Interlocked.Increment(ref _sent);
            publishes[i] = _newArgs(new MqttApplicationMessage
            {
                Topic = "im/c2c/" + Peer,
                PayloadSegment = Encoding.UTF8.GetBytes($"{{\"text\":\"hello from the pipeline benchmark, message {id}\",\"clientMsgId\":\"m-{id}\"}}"),
                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                ContentType = "application/json",
            });
        }

        return publishes;
    }

    /// <summary>One send through the hook (handler, then its verdict written into the PUBACK): completes when the PUBACK would go out (after the commit); fan-out follows on its loop.</summary>
    public Task SendAsync(InterceptingPublishEventArgs publish) =>
        MqttIm.ImExtensions.Hooks.UplinkAnswer.ApplyAsync(publish, _sender, _chat.HandleC2cAsync(MqttIm.ImExtensions.Hooks.UplinkAnswer.PublishOf(publish), _sender, Peer));

    /// <summary>Waits (bounded) until the peer's device was handed <paramref name="count"/> messages in all.</summary>
    public async Task WaitForDeliveriesAsync(long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_peerChannel.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{_peerChannel.Count} of {count} messages fanned out within {timeout}");
            }

            await _peerChannel.NextAsync(TimeSpan.FromMilliseconds(50));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var loop in _loops.Reverse())
        {
            await loop.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }

    /// <summary>MQTTnet's constructor of the hook's arguments, whatever its exact parameter list in this version.</summary>
    private static Func<MqttApplicationMessage, InterceptingPublishEventArgs> ArgsFactory(string clientId, string userName)
    {
        var ctor = typeof(InterceptingPublishEventArgs).GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var parameters = ctor.GetParameters();
        return message => (InterceptingPublishEventArgs)ctor.Invoke(parameters.Select(p =>
            p.ParameterType == typeof(MqttApplicationMessage) ? message
            : p.ParameterType == typeof(CancellationToken) ? CancellationToken.None
            : p.ParameterType == typeof(IDictionary) ? new Hashtable()
            : p.ParameterType == typeof(string) && p.Name == "userName" ? userName
            : p.ParameterType == typeof(string) ? clientId
            : (object?)null).ToArray());
    }

    /// <summary>The peer's "session": counts what it is handed, and wakes a waiter now and then (no allocation per message).</summary>
    private sealed class CountingChannel : IDeviceChannel
    {
        private readonly SemaphoreSlim _signal = new(0);
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public bool TryPublish(MqttApplicationMessage message)
        {
            Interlocked.Increment(ref _count);
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }

            return true;
        }

        public Task NextAsync(TimeSpan timeout) => _signal.WaitAsync(timeout);
    }
}
