using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Rpc;
using MqttIm.DeviceSdk.Sending;
using MqttIm.DeviceSdk.Sync;
using MqttIm.DeviceSdk.Wire;

namespace MqttIm.DeviceSdk;

/// <summary>One device of one user connected to an MqttIm broker: sends 1:1 messages, syncs, reads history and receives messages in seq order.</summary>
public sealed class MqttImClient : IAsyncDisposable
{
    private readonly IMqttClient _mqtt = new MqttClientFactory().CreateMqttClient();
    private readonly Channel<ChatMessage> _messages = Channel.CreateUnbounded<ChatMessage>();
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private readonly InboxAckWaiter _inboxAcks = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly CancellationToken _stopping;
    private MqttImClientOptions? _options;
    private MqttClientOptions? _mqttOptions;
    private RpcCaller? _rpc;
    private ReorderBuffer? _buffer;
    private string _inboxTopic = "";
    private string _rpcTopic = "";
    private int _started;
    private int _reconnecting;
    private int _disposed;

    /// <summary>Creates a client that is not connected yet.</summary>
    public MqttImClient()
    {
        _stopping = _disposing.Token;
    }

    /// <summary>Raised for failures in the background (a gap fill, a reconnect attempt, an undecodable inbox event).</summary>
    public event Action<Exception>? BackgroundError;

    /// <summary>Raised with true once a (re)connect has subscribed and caught up, and with false when the connection is lost.</summary>
    public event Action<bool>? ConnectionChanged;

    /// <summary>The user this client connected as.</summary>
    public string UserId => Options.UserId;

    /// <summary>The device id, which is the MQTT client id.</summary>
    public string DeviceId { get; private set; } = "";

    /// <summary>Whether the MQTT connection is up.</summary>
    public bool IsConnected => _mqtt.IsConnected;

    /// <summary>The highest seq delivered contiguously per conversation, to persist and pass back as initial cursors.</summary>
    public IReadOnlyDictionary<string, long> Cursors => _buffer?.Cursors() ?? new Dictionary<string, long>();

    private MqttImClientOptions Options => _options ?? throw new InvalidOperationException("call ConnectAsync first");

    private RpcCaller Rpc => _rpc ?? throw new InvalidOperationException("call ConnectAsync first");

    private ReorderBuffer Buffer => _buffer ?? throw new InvalidOperationException("call ConnectAsync first");

    /// <summary>Connects, subscribes to the inbox and (unless disabled) syncs what was missed; can be called once per client.</summary>
    public async Task ConnectAsync(MqttImClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.UserId);
        ArgumentException.ThrowIfNullOrEmpty(options.AccessToken);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("ConnectAsync can be called only once; create a new client to connect again");
        }

        _options = options;
        DeviceId = string.IsNullOrEmpty(options.DeviceId) ? $"{options.UserId}-{Guid.NewGuid():N}" : options.DeviceId;
        _inboxTopic = Topics.Inbox(options.UserId);
        _rpcTopic = Topics.RpcInbox(options.UserId);
        _mqttOptions = BuildMqttOptions(options, DeviceId);
        _rpc = new RpcCaller(_mqtt, options.UserId, options.ProtocolVersion, options.RequestTimeout);
        _buffer = new ReorderBuffer(m => _messages.Writer.TryWrite(m), FillGapAsync, options.GapTimeout, options.InitialCursors);
        _buffer.FillFailed += ReportBackgroundError;
        _mqtt.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _mqtt.DisconnectedAsync += OnDisconnectedAsync;
        await ConnectAndCatchUpAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every message of this user's conversations (own sends included once acked), once each and per conversation in seq order, for a single reader.</summary>
    public IAsyncEnumerable<ChatMessage> ReadMessagesAsync(CancellationToken cancellationToken = default) =>
        _messages.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Sends a text message to a user and returns the broker's ack once the message is stored.</summary>
    public Task<SendAck> SendTextAsync(string peerUserId, string text, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendAsync(peerUserId, new SendRequest { Text = text, ClientMsgId = clientMsgId ?? "" }, cancellationToken);

    /// <summary>Sends a message to a user (assigning a client message id if it has none, so resending the same request is idempotent).</summary>
    public async Task<SendAck> SendAsync(string peerUserId, SendRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(peerUserId);
        ArgumentNullException.ThrowIfNull(request);
        EnsureConnected();
        if (request.ClientMsgId.Length == 0)
        {
            request.ClientMsgId = Guid.NewGuid().ToString("N");
        }

        var topic = Topics.C2cSend(peerUserId);
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(WireCodec.Encode(request))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        var mqtt5 = Options.ProtocolVersion == MqttProtocolVersion.V500;
        if (mqtt5)
        {
            builder.WithContentType(WireCodec.ProtobufContentType);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.RequestTimeout);
        SendAck ack;
        try
        {
            ack = mqtt5
                ? await PublishMqtt5Async(builder.Build(), request.ClientMsgId, timeout.Token).ConfigureAwait(false)
                : await PublishMqtt311Async(builder.Build(), request.ClientMsgId, topic, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"send {request.ClientMsgId} was not acknowledged within {Options.RequestTimeout}");
        }

        // The broker does not echo a device's own message back to it; the ack says where it sits in the conversation.
        Buffer.Offer(OwnMessage(peerUserId, request, ack));
        return ack;
    }

    /// <summary>Sends several messages to a user one after another, so they get consecutive seqs in this order.</summary>
    public async Task<IReadOnlyList<SendAck>> SendBatchAsync(string peerUserId, IEnumerable<SendRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var acks = new List<SendAck>();
        foreach (var request in requests)
        {
            acks.Add(await SendAsync(peerUserId, request, cancellationToken).ConfigureAwait(false));
        }

        return acks;
    }

    /// <summary>Fetches every message after the given cursors (missing conversations from seq 1), paging until the broker has no more.</summary>
    public async Task<IReadOnlyList<ConversationSync>> SyncAsync(
        IReadOnlyDictionary<string, long>? cursors = null, int pageLimit = 0, CancellationToken cancellationToken = default)
    {
        EnsureConnected();
        var merged = new Dictionary<string, ConversationSync>(StringComparer.Ordinal);
        var order = new List<ConversationSync>();
        await SyncPager.RunAsync(
            cursors ?? new Dictionary<string, long>(),
            (pageCursors, ct) => SyncPageAsync(pageCursors, pageLimit, ct),
            page =>
            {
                foreach (var conversation in page.Conversations)
                {
                    if (!merged.TryGetValue(conversation.ConversationId, out var total))
                    {
                        merged[conversation.ConversationId] = total = new ConversationSync { ConversationId = conversation.ConversationId };
                        order.Add(total);
                    }

                    total.MaxSeq = Math.Max(total.MaxSeq, conversation.MaxSeq);
                    total.Messages.AddRange(conversation.Messages);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return order;
    }

    /// <summary>Reads one page of a conversation's messages before a seq (0 = from the newest), returned in seq order.</summary>
    public async Task<HistoryResponse> HistoryAsync(string conversationId, long beforeSeq = 0, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        EnsureConnected();
        var request = new HistoryRequest { RequestId = NewRequestId(), ConversationId = conversationId, BeforeSeq = beforeSeq, Limit = limit };
        var response = await Rpc.CallAsync("history", request, request.RequestId, cancellationToken).ConfigureAwait(false);
        return response.ResultCase == RpcResponse.ResultOneofCase.History
            ? response.History
            : throw new MqttImRpcException("history", "unexpected_response", $"the broker answered with {response.ResultCase}");
    }

    /// <summary>Disconnects and stops delivering messages; the message stream completes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        _buffer?.Dispose();
        try
        {
            if (_mqtt.IsConnected)
            {
                await _mqtt.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is already gone: nothing to say goodbye to.
        }

        _mqtt.Dispose();
        _messages.Writer.TryComplete();
    }

    private static MqttClientOptions BuildMqttOptions(MqttImClientOptions options, string deviceId)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(deviceId)
            .WithCredentials(options.UserId, options.AccessToken)
            .WithProtocolVersion(options.ProtocolVersion)
            .WithCleanSession()
            .WithTimeout(options.RequestTimeout);
        if (options.ProtocolVersion == MqttProtocolVersion.V500)
        {
            builder.WithUserProperty("format", new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("protobuf")));
        }

        return options.WebSocketUri is { } uri
            ? builder.WithWebSocketServer(o => o.WithUri(uri.ToString())).Build()
            : builder.WithTcpServer(options.Host, options.Port).Build();
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

    private async Task<SendAck> PublishMqtt5Async(MqttApplicationMessage message, string clientMsgId, CancellationToken cancellationToken)
    {
        var result = await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!SendRefusals.IsAccepted(result.ReasonCode))
        {
            throw new MqttImSendException(result.ReasonCode, SendRefusals.CodeOf(result.ReasonCode), result.ReasonString, clientMsgId);
        }

        return PubAckReader.TryRead(result, clientMsgId, out var ack)
            ? ack
            : throw new InvalidOperationException("the broker accepted the send but its PUBACK carries no conversation_id/seq");
    }

    private async Task<SendAck> PublishMqtt311Async(MqttApplicationMessage message, string clientMsgId, string topic, CancellationToken cancellationToken)
    {
        var acked = _inboxAcks.Register(clientMsgId, topic);
        try
        {
            await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            return await acked.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inboxAcks.Forget(clientMsgId);
        }
    }

    private ChatMessage OwnMessage(string peerUserId, SendRequest request, SendAck ack)
    {
        var message = new ChatMessage
        {
            ConversationId = ack.ConversationId,
            Seq = ack.Seq,
            ServerMsgId = ack.ServerMsgId,
            ClientMsgId = request.ClientMsgId,
            SenderId = UserId,
            SenderDevice = DeviceId,
            RecipientId = peerUserId,
            ServerTimeMs = ack.ServerTimeMs,
            Text = request.Text,
            ContentType = request.ContentType.Length > 0 ? request.ContentType : "text",
            Data = request.Data,
        };
        message.Ext.Add(request.Ext);
        return message;
    }

    private async Task ConnectAndCatchUpAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping);
        timeout.CancelAfter(Options.RequestTimeout);
        if (!_mqtt.IsConnected)
        {
            var result = await _mqtt.ConnectAsync(_mqttOptions!, timeout.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"connect refused: {result.ResultCode} {result.ReasonString}");
            }

            var subscribe = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(_inboxTopic, MqttQualityOfServiceLevel.AtLeastOnce);
            if (Options.ProtocolVersion == MqttProtocolVersion.V500)
            {
                subscribe.WithTopicFilter(_rpcTopic, MqttQualityOfServiceLevel.AtLeastOnce);
            }

            var subscribed = await _mqtt.SubscribeAsync(subscribe.Build(), timeout.Token).ConfigureAwait(false);
            foreach (var item in subscribed.Items)
            {
                if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
                {
                    throw new InvalidOperationException($"subscribe to {item.TopicFilter.Topic} refused: {item.ResultCode} {subscribed.ReasonString}");
                }
            }
        }

        if (Options.SyncOnConnect)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        ConnectionChanged?.Invoke(true);
    }

    /// <summary>Syncs from the buffer's cursors and feeds everything through it, so missing seqs are filled and duplicates dropped.</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping);
        await _syncGate.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            await SyncPager.RunAsync(
                Buffer.Cursors(),
                (cursors, ct) => SyncPageAsync(cursors, Options.SyncPageLimit, ct),
                page =>
                {
                    foreach (var conversation in page.Conversations)
                    {
                        foreach (var message in conversation.Messages)
                        {
                            Buffer.Offer(message);
                        }
                    }
                },
                linked.Token).ConfigureAwait(false);
        }
        finally
        {
            _syncGate.Release();
        }
    }

    private Task FillGapAsync(string conversationId, CancellationToken cancellationToken)
    {
        // Another sync may have filled the gap while this one waited for its turn; CatchUpAsync then finds nothing new.
        EnsureConnected();
        return CatchUpAsync(cancellationToken);
    }

    private async Task<SyncResponse> SyncPageAsync(IReadOnlyDictionary<string, long> cursors, int limit, CancellationToken cancellationToken)
    {
        var request = new SyncRequest { RequestId = NewRequestId(), Limit = limit };
        foreach (var (conversationId, cursor) in cursors)
        {
            request.Cursors[conversationId] = cursor;
        }
        var response = await Rpc.CallAsync("sync", request, request.RequestId, cancellationToken).ConfigureAwait(false);
        return response.ResultCase == RpcResponse.ResultOneofCase.Sync
            ? response.Sync
            : throw new MqttImRpcException("sync", "unexpected_response", $"the broker answered with {response.ResultCase}");
    }

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs args)
    {
        var message = args.ApplicationMessage;
        try
        {
            if (message.Topic == _rpcTopic)
            {
                var response = WireCodec.Decode(RpcResponse.Parser, message.Payload, message.ContentType);
                var requestId = message.CorrelationData is { Length: > 0 } correlation ? Encoding.UTF8.GetString(correlation) : response.RequestId;
                Rpc.Complete(requestId, response);
            }
            else if (message.Topic == _inboxTopic)
            {
                OnInboxEvent(WireCodec.Decode(InboxEvent.Parser, message.Payload, message.ContentType));
            }
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or DecoderFallbackException)
        {
            ReportBackgroundError(new InvalidDataException($"undecodable event on {message.Topic}: {ex.Message}", ex));
        }

        return Task.CompletedTask;
    }

    private void OnInboxEvent(InboxEvent inboxEvent)
    {
        var mqtt311 = Options.ProtocolVersion != MqttProtocolVersion.V500;
        switch (inboxEvent.EventCase)
        {
            case InboxEvent.EventOneofCase.Message:
                Buffer.Offer(inboxEvent.Message);
                break;
            case InboxEvent.EventOneofCase.SendAck when mqtt311:
                _inboxAcks.OnAck(inboxEvent.SendAck);
                break;
            case InboxEvent.EventOneofCase.SendError when mqtt311:
                _inboxAcks.OnError(inboxEvent.SendError);
                break;
            case InboxEvent.EventOneofCase.Rpc:
                Rpc.Complete(inboxEvent.Rpc.RequestId, inboxEvent.Rpc);
                break;
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        if (args.ClientWasConnected)
        {
            ConnectionChanged?.Invoke(false);
        }

        if (args.ClientWasConnected && Options.AutoReconnect && !_stopping.IsCancellationRequested
            && Interlocked.CompareExchange(ref _reconnecting, 1, 0) == 0)
        {
            _ = Task.Run(ReconnectLoopAsync, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task ReconnectLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.ReconnectDelay, _stopping).ConfigureAwait(false);
                await ConnectAndCatchUpAsync(_stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                ReportBackgroundError(ex);
                continue;
            }

            Volatile.Write(ref _reconnecting, 0);
            // A disconnect that raced with the end of this loop found it still running: pick it up here.
            if (_mqtt.IsConnected || _stopping.IsCancellationRequested || Interlocked.CompareExchange(ref _reconnecting, 1, 0) != 0)
            {
                return;
            }
        }

        Volatile.Write(ref _reconnecting, 0);
    }

    private void EnsureConnected()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_mqtt.IsConnected)
        {
            throw new InvalidOperationException("the client is not connected");
        }
    }

    private void ReportBackgroundError(Exception exception) => BackgroundError?.Invoke(exception);
}
