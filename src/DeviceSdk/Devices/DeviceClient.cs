using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace MqttIm.DeviceSdk.Devices;

/// <summary>
/// An IoT device connected to an MqttIm broker: sends telemetry (buffered while offline, sent in pipelined batches, each
/// acknowledged by the broker only once stored), runs command handlers and sends their result as the reply, and
/// reconnects with exponential backoff and jitter. Redelivered commands (same id) are answered from the first result
/// instead of running twice.
/// </summary>
public sealed class DeviceClient : IAsyncDisposable
{
    private const int RememberedCommands = 1024;
    private readonly IMqttClient _mqtt = new MqttClientFactory().CreateMqttClient();
    private readonly ConcurrentDictionary<string, Func<DeviceCommand, CancellationToken, Task<CommandResult>>> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _replies = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _replyOrder = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private TelemetryBuffer _buffer = new(1);
    private DeviceClientOptions? _options;
    private Task? _sender;
    private long _lastSeq;
    private int _reconnecting;

    /// <summary>Creates a client that is not connected yet.</summary>
    public DeviceClient()
    {
        _mqtt.ApplicationMessageReceivedAsync += OnMessageAsync;
        _mqtt.DisconnectedAsync += OnDisconnectedAsync;
    }

    /// <summary>Raised with true after each (re)connect and with false when the connection is lost.</summary>
    public event Action<bool>? ConnectionChanged;

    /// <summary>Raised for failures in the background (a reconnect attempt, a handler that threw, an unreadable command).</summary>
    public event Action<Exception>? BackgroundError;

    /// <summary>Raised when a command's seq skips ahead of the last one seen (the device may have missed commands meanwhile).</summary>
    public event Action<long, long>? SeqGap;

    /// <summary>Whether the MQTT connection is up.</summary>
    public bool IsConnected => _mqtt.IsConnected;

    /// <summary>Telemetry points not yet acknowledged by the broker.</summary>
    public int PendingTelemetry => _buffer.Count;

    /// <summary>Points dropped because the offline buffer was full.</summary>
    public long DroppedTelemetry => _buffer.Dropped;

    /// <summary>How many reconnects succeeded.</summary>
    public int Reconnects { get; private set; }

    private DeviceClientOptions Options => _options ?? throw new InvalidOperationException("call ConnectAsync first");

    private bool IsMqtt5 => Options.ProtocolVersion == MqttProtocolVersion.V500;

    /// <summary>Runs <paramref name="handler"/> for commands named <paramref name="name"/>; commands without a handler are rejected.</summary>
    public void OnCommand(string name, Func<DeviceCommand, CancellationToken, Task<CommandResult>> handler) => _handlers[name] = handler;

    /// <summary>Connects, subscribes to the device's commands and starts sending buffered telemetry.</summary>
    public async Task ConnectAsync(DeviceClientOptions options, CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _options, options, null) is not null)
        {
            throw new InvalidOperationException("ConnectAsync may be called once per client");
        }

        _buffer = new TelemetryBuffer(options.MaxBufferedTelemetry);
        await ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
        _sender = Task.Run(() => SendLoopAsync(_disposing.Token));
    }

    /// <summary>Queues a JSON telemetry point on <c>device/{id}/telemetry[/subtopic]</c>; returns at once (sent when connected).</summary>
    public void SendTelemetry(object value, string subtopic = "") =>
        _buffer.Add(new TelemetryItem(subtopic, JsonSerializer.SerializeToUtf8Bytes(value), "application/json"));

    /// <summary>Queues a binary telemetry point.</summary>
    public void SendTelemetry(byte[] payload, string contentType, string subtopic = "") => _buffer.Add(new TelemetryItem(subtopic, payload, contentType));

    /// <summary>Waits until every queued point was acknowledged (stored) by the broker.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_buffer.Count > 0 || Volatile.Read(ref _inFlight) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{_buffer.Count} telemetry points still unsent after {timeout}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the broker to send again every open command after <paramref name="afterSeq"/> (after a gap).</summary>
    public Task RequestResendAsync(long afterSeq, CancellationToken cancellationToken = default) =>
        _mqtt.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{Options.DeviceId}/sync")
            .WithPayload($$"""{"afterSeq":{{afterSeq}}}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);

    /// <summary>Disconnects cleanly and stops reconnecting.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        _disposing.Cancel();
        if (_mqtt.IsConnected)
        {
            try
            {
                await _mqtt.DisconnectAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // already gone
            }
        }

        if (_sender is not null)
        {
            try
            {
                await _sender.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _mqtt.Dispose();
    }

    private int _inFlight;

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_mqtt.IsConnected)
            {
                return;
            }

            var options = Options;
            var mqttOptions = new MqttClientOptionsBuilder()
                .WithTcpServer(options.Host, options.Port)
                .WithClientId(options.DeviceId)
                .WithCredentials(options.DeviceId, options.Secret)
                .WithProtocolVersion(options.ProtocolVersion)
                .WithCleanSession(false)
                .WithSessionExpiryInterval(options.ProtocolVersion == MqttProtocolVersion.V500 ? 86_400u : 0u)
                .WithKeepAlivePeriod(options.KeepAlive)
                .WithTimeout(TimeSpan.FromSeconds(15))
                .Build();
            var result = await _mqtt.ConnectAsync(mqttOptions, cancellationToken).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"device {options.DeviceId} was refused: {result.ResultCode} {result.ReasonString}");
            }

            var subscribed = await _mqtt.SubscribeAsync($"device/{options.DeviceId}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken).ConfigureAwait(false);
            if (subscribed.Items.Single().ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new InvalidOperationException($"command subscription refused: {subscribed.Items.Single().ResultCode}");
            }
        }
        finally
        {
            _connectGate.Release();
        }

        ConnectionChanged?.Invoke(true);
    }

    private async Task SendLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var batch = await _buffer.TakeAsync(Options.TelemetryBatchSize, stopping).ConfigureAwait(false);
            Interlocked.Add(ref _inFlight, batch.Count);
            try
            {
                var results = await Task.WhenAll(batch.Select(item => TryPublishAsync(item, stopping))).ConfigureAwait(false);
                var unsent = batch.Where((_, i) => !results[i]).ToList();
                _buffer.PutBack(unsent);
                if (unsent.Count > 0)
                {
                    await WaitForConnectionAsync(stopping).ConfigureAwait(false);
                }
            }
            finally
            {
                Interlocked.Add(ref _inFlight, -batch.Count);
            }
        }
    }

    private async Task<bool> TryPublishAsync(TelemetryItem item, CancellationToken stopping)
    {
        if (!_mqtt.IsConnected)
        {
            return false;
        }

        try
        {
            var topic = $"device/{Options.DeviceId}/telemetry" + (item.Subtopic.Length > 0 ? "/" + item.Subtopic : "");
            var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(item.Payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (IsMqtt5)
            {
                builder.WithContentType(item.ContentType); // MQTT 5 only: MQTTnet refuses it on 3.1.1
            }

            var result = await _mqtt.PublishAsync(builder.Build(), stopping).ConfigureAwait(false);
            if (result.ReasonCode is MqttClientPublishReasonCode.QuotaExceeded or MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.PayloadFormatInvalid)
            {
                BackgroundError?.Invoke(new InvalidOperationException($"telemetry refused for good: {result.ReasonCode} {result.ReasonString}"));
                return true; // resending cannot help
            }

            return result.IsSuccess;
        }
        catch (Exception) when (!stopping.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task WaitForConnectionAsync(CancellationToken stopping)
    {
        while (!_mqtt.IsConnected && !stopping.IsCancellationRequested)
        {
            await Task.Delay(50, stopping).ConfigureAwait(false);
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        if (_disposing.IsCancellationRequested || _options is null)
        {
            return Task.CompletedTask;
        }

        ConnectionChanged?.Invoke(false);
        if (Interlocked.Exchange(ref _reconnecting, 1) == 0)
        {
            _ = Task.Run(ReconnectLoopAsync);
        }

        return Task.CompletedTask;
    }

    private async Task ReconnectLoopAsync()
    {
        try
        {
            for (var attempt = 0; !_disposing.IsCancellationRequested; attempt++)
            {
                await Task.Delay(Backoff.Delay(Options.ReconnectMinDelay, Options.ReconnectMaxDelay, attempt), _disposing.Token).ConfigureAwait(false);
                try
                {
                    await ConnectOnceAsync(_disposing.Token).ConfigureAwait(false);
                    Reconnects++;
                    return;
                }
                catch (Exception ex) when (!_disposing.IsCancellationRequested)
                {
                    BackgroundError?.Invoke(ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Exchange(ref _reconnecting, 0);
            if (!_mqtt.IsConnected && !_disposing.IsCancellationRequested && Interlocked.Exchange(ref _reconnecting, 1) == 0)
            {
                _ = Task.Run(ReconnectLoopAsync);
            }
        }
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs args)
    {
        var message = args.ApplicationMessage;
        var prefix = $"device/{Options.DeviceId}/cmd/";
        if (!message.Topic.StartsWith(prefix, StringComparison.Ordinal))
        {
            return;
        }

        DeviceCommand command;
        try
        {
            using var document = JsonDocument.Parse(System.Buffers.BuffersExtensions.ToArray(message.Payload));
            var root = document.RootElement;
            command = new DeviceCommand(root.GetProperty("commandId").GetString()!, root.GetProperty("seq").GetInt64(), root.GetProperty("name").GetString()!,
                root.TryGetProperty("payload", out var payload) ? payload.Clone() : default, root.TryGetProperty("expiresAtMs", out var expires) ? expires.GetInt64() : 0);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            BackgroundError?.Invoke(new InvalidDataException("unreadable command on " + message.Topic, ex));
            return;
        }

        var replyTopic = message.ResponseTopic is { Length: > 0 } responseTopic ? responseTopic : $"device/{Options.DeviceId}/cmd/{command.CommandId}/reply";
        if (!_replies.TryGetValue(command.CommandId, out var reply))
        {
            var last = Interlocked.Read(ref _lastSeq);
            if (command.Seq > last + 1 && last > 0)
            {
                SeqGap?.Invoke(last, command.Seq);
            }

            if (command.Seq > last)
            {
                Interlocked.Exchange(ref _lastSeq, command.Seq);
            }

            reply = await RunHandlerAsync(command).ConfigureAwait(false);
            Remember(command.CommandId, reply);
        }

        var builder = new MqttApplicationMessageBuilder().WithTopic(replyTopic).WithPayload(reply).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (IsMqtt5)
        {
            builder.WithContentType("application/json");
            if (message.CorrelationData is { } correlation)
            {
                builder.WithCorrelationData(correlation);
            }
        }

        try
        {
            await _mqtt.PublishAsync(builder.Build(), _disposing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!_disposing.IsCancellationRequested)
        {
            // The command stays delivered on the broker; a redelivery (same id) gets this same reply.
            BackgroundError?.Invoke(ex);
        }
    }

    private async Task<byte[]> RunHandlerAsync(DeviceCommand command)
    {
        CommandResult result;
        if (!_handlers.TryGetValue(command.Name, out var handler))
        {
            result = CommandResult.Reject($"no handler for command '{command.Name}'");
        }
        else
        {
            try
            {
                result = await handler(command, _disposing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                BackgroundError?.Invoke(ex);
                result = CommandResult.Failure(ex.Message);
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(new
        {
            status = result.Status switch { CommandStatus.Failed => "failed", CommandStatus.Rejected => "rejected", _ => "succeeded" },
            result = result.Result,
            message = result.Message,
        });
    }

    private void Remember(string commandId, byte[] reply)
    {
        if (_replies.TryAdd(commandId, reply))
        {
            _replyOrder.Enqueue(commandId);
            while (_replyOrder.Count > RememberedCommands && _replyOrder.TryDequeue(out var oldest))
            {
                _replies.TryRemove(oldest, out _);
            }
        }
    }
}

/// <summary>Exponential backoff with jitter: min·2^attempt capped at max, times a random factor in [0.5, 1.5).</summary>
internal static class Backoff
{
    public static TimeSpan Delay(TimeSpan min, TimeSpan max, int attempt)
    {
        var exponential = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds(exponential * (0.5 + Random.Shared.NextDouble()));
    }
}
