using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;

namespace MqttIm.Testing;

/// <summary>How a test device reaches the broker.</summary>
public enum Transport
{
    Tcp,
    WebSocket,
}

/// <summary>
/// One device of one user: an MQTTnet client, optionally subscribed to its inbox, collecting everything it receives.
/// </summary>
public sealed class TestDevice : IAsyncDisposable
{
    private static readonly JsonParser LenientJson = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();

    private TestDevice(IMqttClient client, string userId, string clientId, MqttProtocolVersion version, bool protobuf)
    {
        Client = client;
        UserId = userId;
        ClientId = clientId;
        Version = version;
        Protobuf = protobuf;
        client.ApplicationMessageReceivedAsync += args =>
        {
            _received.Writer.TryWrite(args.ApplicationMessage);
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public string UserId { get; }

    public string ClientId { get; }

    public MqttProtocolVersion Version { get; }

    /// <summary>Asked the broker for protobuf downlinks (MQTT 5 only) and sends protobuf uplinks.</summary>
    public bool Protobuf { get; }

    public static MqttClientOptionsBuilder Options(ITestBroker broker, string userId, string password, string clientId,
        MqttProtocolVersion version = MqttProtocolVersion.V500, Transport transport = Transport.Tcp)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(clientId)
            .WithCredentials(userId, password)
            .WithProtocolVersion(version)
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(10));
        return transport == Transport.Tcp
            ? builder.WithTcpServer("127.0.0.1", broker.MqttPort)
            : builder.WithWebSocketServer(o => o.WithUri($"ws://127.0.0.1:{broker.HttpPort}/mqtt"));
    }

    public static async Task<TestDevice> ConnectAsync(ITestBroker broker, string userId, string? clientId = null,
        MqttProtocolVersion version = MqttProtocolVersion.V500, Transport transport = Transport.Tcp,
        bool subscribeInbox = true, bool protobuf = false, IReadOnlyDictionary<string, string>? connectProperties = null)
    {
        clientId ??= $"{userId}-{Guid.NewGuid():N}"[..Math.Min(userId.Length + 13, 60)];
        var options = Options(broker, userId, broker.Token(userId), clientId, version, transport);
        if (protobuf && version == MqttProtocolVersion.V500)
        {
            options.WithUserProperty("format", new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("protobuf")));
        }

        foreach (var (name, value) in connectProperties ?? new Dictionary<string, string>())
        {
            // MQTT 5 CONNECT user properties, e.g. ack=received or send_ack=inbox.
            options.WithUserProperty(name, new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(value)));
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var device = new TestDevice(client, userId, clientId, version, protobuf && version == MqttProtocolVersion.V500);
        var result = await client.ConnectAsync(options.Build());
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"connect of {userId} failed: {result.ResultCode} {result.ReasonString}");
        }

        if (subscribeInbox)
        {
            var sub = await client.SubscribeAsync($"inbox/{userId}", MqttQualityOfServiceLevel.AtLeastOnce);
            if (sub.Items.Single().ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new InvalidOperationException($"inbox subscribe of {userId} failed: {sub.Items.Single().ResultCode}");
            }
        }

        return device;
    }

    public Task<MqttClientPublishResult> SendAsync(string peer, string text, string clientMsgId = "") =>
        SendAsync(peer, new SendRequest { Text = text, ClientMsgId = clientMsgId });

    public Task<MqttClientPublishResult> SendAsync(string peer, SendRequest request) =>
        PublishAsync($"im/c2c/{peer}", Encode(request));

    public Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce) =>
        Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build());

    public byte[] Encode(IMessage message) =>
        Protobuf ? message.ToByteArray() : Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(message));

    /// <summary>The next message this device received, within the timeout.</summary>
    public async Task<MqttApplicationMessage> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{ClientId} received nothing within {timeout ?? TimeSpan.FromSeconds(10)}");
        }
    }

    /// <summary>Whether anything arrives within the window (for asserting that nothing does).</summary>
    public async Task<MqttApplicationMessage?> TryNextAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// A barrier instead of a "nothing arrived within N ms" window: <paramref name="sendMarker"/> sends something this
    /// device receives along the same path as what must not arrive, after it; returns everything received before the
    /// marker (the broker delivers to one session in order), so the caller asserts on all of it, not on the first.
    /// </summary>
    public async Task<List<MqttApplicationMessage>> ReceivedBeforeAsync(Func<Task> sendMarker, Func<MqttApplicationMessage, bool> isMarker, TimeSpan? timeout = null)
    {
        await sendMarker();
        var before = new List<MqttApplicationMessage>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        for (var message = await NextAsync(Left(deadline)); !isMarker(message); message = await NextAsync(Left(deadline)))
        {
            before.Add(message);
        }

        return before;
    }

    /// <summary><see cref="ReceivedBeforeAsync"/> with a 1:1 chat message from <paramref name="from"/> as the marker.</summary>
    public Task<List<MqttApplicationMessage>> ReceivedBeforeChatMarkerAsync(TestDevice from)
    {
        var text = "marker-" + Guid.NewGuid().ToString("N");
        return ReceivedBeforeAsync(async () =>
        {
            var sent = await from.SendAsync(UserId, text);
            if (!sent.IsSuccess)
            {
                throw new InvalidOperationException($"marker from {from.UserId} refused: {sent.ReasonCode} {sent.ReasonString}");
            }
        }, m => IsChat(m, text));
    }

    /// <summary>Whether the message is an inbox event carrying a chat message with this text.</summary>
    public static bool IsChat(MqttApplicationMessage message, string text) =>
        message.Topic.StartsWith("inbox/", StringComparison.Ordinal) && message.Topic.IndexOf('/', 6) < 0 // not an RPC response below the inbox
        && Decode(InboxEvent.Parser, message) is { EventCase: InboxEvent.EventOneofCase.Message } evt && evt.Message.Text == text;

    private static TimeSpan Left(DateTime deadline) => deadline - DateTime.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>The next inbox event matching the predicate, skipping others (e.g. acks while waiting for a message).</summary>
    public async Task<InboxEvent> NextEventAsync(Func<InboxEvent, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{ClientId}: no matching inbox event in time");
            }

            var message = await NextAsync(left);
            if (!message.Topic.StartsWith("inbox/", StringComparison.Ordinal))
            {
                continue;
            }

            var evt = Decode(InboxEvent.Parser, message);
            if (match is null || match(evt))
            {
                return evt;
            }
        }
    }

    public async Task<ChatMessage> NextChatMessageAsync(TimeSpan? timeout = null) =>
        (await NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.Message, timeout)).Message;

    public static T Decode<T>(MessageParser<T> parser, MqttApplicationMessage message) where T : IMessage<T>, new()
    {
        var bytes = System.Buffers.BuffersExtensions.ToArray(message.Payload);
        return message.ContentType == "application/x-protobuf"
            ? parser.ParseFrom(bytes)
            : LenientJson.Parse<T>(Encoding.UTF8.GetString(bytes));
    }

    /// <summary>An RPC the MQTT 5 way (messages received meanwhile that are not the response are dropped) (ResponseTopic + CorrelationData) or, for 3.1.1, through the inbox with a request id.</summary>
    public async Task<RpcResponse> RpcAsync(string method, IMessage request, string requestId)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic($"im/rpc/{method}")
            .WithPayload(Encode(request))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        var correlation = Encoding.UTF8.GetBytes(requestId);
        if (Version == MqttProtocolVersion.V500)
        {
            builder.WithResponseTopic($"inbox/{UserId}/rpc").WithCorrelationData(correlation);
        }

        await Client.PublishAsync(builder.Build());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var message = await NextAsync(deadline - DateTime.UtcNow);
            if (Version == MqttProtocolVersion.V500 && message.Topic == $"inbox/{UserId}/rpc")
            {
                if (message.CorrelationData is { } c && c.AsSpan().SequenceEqual(correlation))
                {
                    return Decode(RpcResponse.Parser, message);
                }

                continue;
            }

            if (message.Topic == $"inbox/{UserId}")
            {
                var evt = Decode(InboxEvent.Parser, message);
                if (evt.EventCase == InboxEvent.EventOneofCase.Rpc && evt.Rpc.RequestId == requestId)
                {
                    return evt.Rpc;
                }
            }
        }
    }

    /// <summary>Pulls everything after the cursors, page by page, until the broker says nothing is left.</summary>
    public async Task<Dictionary<string, List<ChatMessage>>> SyncAllAsync(Dictionary<string, long>? cursors = null, int limit = 0)
    {
        cursors ??= new Dictionary<string, long>();
        var all = new Dictionary<string, List<ChatMessage>>();
        var after = "";
        for (var page = 0; page < 10_000; page++)
        {
            var request = new SyncRequest { RequestId = $"sync-{page}-{Guid.NewGuid():N}", Limit = limit, AfterConversationId = after };
            request.Cursors.Add(cursors);
            var response = await RpcAsync("sync", request, request.RequestId);
            if (response.ResultCase != RpcResponse.ResultOneofCase.Sync)
            {
                throw new InvalidOperationException("sync failed: " + response);
            }

            foreach (var conversation in response.Sync.Conversations)
            {
                if (!all.TryGetValue(conversation.ConversationId, out var list))
                {
                    all[conversation.ConversationId] = list = [];
                }

                list.AddRange(conversation.Messages);
                if (conversation.Messages.Count > 0)
                {
                    cursors[conversation.ConversationId] = conversation.Messages[^1].Seq;
                }
            }

            if (!response.Sync.HasMore)
            {
                // This page of conversations is done; the broker names where the next one starts (none: finished).
                if (response.Sync.NextAfterConversationId.Length == 0)
                {
                    return all;
                }

                after = response.Sync.NextAfterConversationId;
            }
        }

        throw new InvalidOperationException("sync did not finish");
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
            // Already gone (e.g. the broker was killed): nothing to clean up.
        }

        Client.Dispose();
    }
}
