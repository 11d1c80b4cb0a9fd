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

/// <summary>
/// One device of one user connected to an MqttIm broker: sends 1:1 and group messages, syncs, reads history, manages
/// read state, conversations and groups, and receives every conversation's messages in seq order.
/// </summary>
/// <remarks>
/// This file holds connecting, the inbox and reconnecting; sending, syncing, read state, message changes and groups live
/// in the other <c>MqttImClient.*.cs</c> files.
/// </remarks>
public sealed partial class MqttImClient : IAsyncDisposable
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
    private ConversationPuller? _puller;
    private string _inboxTopic = "";
    private string _rpcTopic = "";
    private ConnectionLink _link = new();
    private SemaphoreSlim? _sendWindow;
    private int _started;
    private int _reconnecting;
    private int _disposed;

    /// <summary>Creates a client that is not connected yet.</summary>
    public MqttImClient()
    {
        _stopping = _disposing.Token;
        Groups = new MqttImGroups(this);
    }

    /// <summary>Raised for failures in the background (a gap fill, a hint pull, a reconnect attempt, an undecodable inbox event).</summary>
    public event Action<Exception>? BackgroundError;

    /// <summary>Raised with true once a (re)connect has subscribed and caught up, and with false when the connection is lost.</summary>
    public event Action<bool>? ConnectionChanged;

    /// <summary>Raised when a 1:1 peer, or this user on another device, moved a read position.</summary>
    public event Action<ReadReceipt>? ReadReceiptReceived;

    /// <summary>The user this client connected as.</summary>
    public string UserId => Options.UserId;

    /// <summary>The device id, which is the MQTT client id.</summary>
    public string DeviceId { get; private set; } = "";

    /// <summary>Whether the MQTT connection is up.</summary>
    public bool IsConnected => _mqtt.IsConnected;

    /// <summary>The highest seq delivered contiguously per conversation, to persist and pass back as initial cursors.</summary>
    public IReadOnlyDictionary<string, long> Cursors => _buffer?.Cursors() ?? new Dictionary<string, long>();

    /// <summary>Creating and managing groups.</summary>
    public MqttImGroups Groups { get; }

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
        _puller = new ConversationPuller(PullConversationAsync, ReportBackgroundError, _stopping);
        if (UsesPipelinedSends)
        {
            _sendWindow = new SemaphoreSlim(Math.Max(1, options.SendWindow));
        }

        _mqtt.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        _mqtt.DisconnectedAsync += OnDisconnectedAsync;
        await ConnectAndCatchUpAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every event of this user's conversations, once each and per conversation in seq order, for a single reader: messages
    /// (own sends included once acked), group events, recalls and edits (apply them to <c>target_seq</c>) and business
    /// notifications (<c>MESSAGE_KIND_NOTIFICATION</c> in the conversation <c>notify:{userId}</c>).
    /// </summary>
    public IAsyncEnumerable<ChatMessage> ReadMessagesAsync(CancellationToken cancellationToken = default) =>
        _messages.Reader.ReadAllAsync(cancellationToken);

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
            if (options.PipelinedSends)
            {
                // PUBACK = received, inbox send-ack = stored (3.1.1 cannot ask: its CONNECT has no user properties).
                builder.WithUserProperty("ack", new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("received")));
            }
        }

        return options.WebSocketUri is { } uri
            ? builder.WithWebSocketServer(o => o.WithUri(uri.ToString())).Build()
            : builder.WithTcpServer(options.Host, options.Port).Build();
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

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

            await RejoinRoomsAsync(timeout.Token).ConfigureAwait(false);
        }

        // Subscribed to the inbox: pipelined sends waiting for a connection may (re)send now, before the catch-up.
        _link.Up.TrySetResult();

        if (Options.SyncOnConnect)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        ConnectionChanged?.Invoke(true);
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
            else
            {
                TryRouteRoomFrame(message);
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
        switch (inboxEvent.EventCase)
        {
            case InboxEvent.EventOneofCase.Message:
                Buffer.Offer(inboxEvent.Message);
                break;
            case InboxEvent.EventOneofCase.SendAck:
                _inboxAcks.OnAck(inboxEvent.SendAck);
                break;
            case InboxEvent.EventOneofCase.SendError:
                // MQTT 3.1.1 learns a refusal only here; MQTT 5 gets the precise code (not_member, muted …) here too.
                _inboxAcks.OnError(inboxEvent.SendError);
                break;
            case InboxEvent.EventOneofCase.Rpc:
                Rpc.Complete(inboxEvent.Rpc.RequestId, inboxEvent.Rpc);
                break;
            case InboxEvent.EventOneofCase.ReadReceipt:
                RaiseReadReceipt(inboxEvent.ReadReceipt);
                break;
            case InboxEvent.EventOneofCase.Hint:
                OnHint(inboxEvent.Hint);
                break;
        }
    }

    private void RaiseReadReceipt(ReadReceipt receipt)
    {
        try
        {
            ReadReceiptReceived?.Invoke(receipt);
        }
        catch (Exception ex)
        {
            // An app handler's failure must not stop the inbox.
            ReportBackgroundError(ex);
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        if (args.ClientWasConnected)
        {
            // Pipelined sends waiting for their stored-ack on this connection resend on the next one.
            Interlocked.Exchange(ref _link, new ConnectionLink()).Down.TrySetResult();
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
        var failures = 0;
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ReconnectBackoff(failures++), _stopping).ConfigureAwait(false);
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

    /// <summary>Exponential back-off with jitter, so many clients cut at once by a broker restart do not reconnect in step.</summary>
    private TimeSpan ReconnectBackoff(int failures)
    {
        var first = Options.ReconnectDelay.TotalMilliseconds;
        var ceiling = Math.Max(first, Options.ReconnectMaxDelay.TotalMilliseconds);
        var delay = Math.Min(ceiling, first * Math.Pow(2, Math.Min(failures, 20)));
        return TimeSpan.FromMilliseconds(delay * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private bool UsesPipelinedSends => Options.PipelinedSends && Options.ProtocolVersion == MqttProtocolVersion.V500;

    private void EnsureConnected()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_mqtt.IsConnected)
        {
            throw new InvalidOperationException("the client is not connected");
        }
    }

    private void ReportBackgroundError(Exception exception) => BackgroundError?.Invoke(exception);

    /// <summary>One connection's life: <see cref="Up"/> once it is subscribed, <see cref="Down"/> once it is lost.</summary>
    private sealed class ConnectionLink
    {
        public TaskCompletionSource Up { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Down { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
