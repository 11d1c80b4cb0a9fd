using System.Threading.Channels;
using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk;

/// <summary>
/// One joined live room. <see cref="ReadMessagesAsync"/> unpacks the merged frames into messages: gifts and system
/// messages exactly once each and in room-seq order (gaps, e.g. after a reconnect, are filled by replay), chat as the
/// room's rate lets it through. Counts (viewers, likes) are kept up to date from the frames.
/// </summary>
public sealed class MqttImRoom
{
    private readonly MqttImClient _client;
    private readonly Channel<RoomMessage> _messages = Channel.CreateUnbounded<RoomMessage>();
    private readonly SortedDictionary<long, RoomMessage> _ahead = [];
    private readonly Lock _gate = new();
    private long _lastSeq;
    private bool _baselineKnown;
    private int _filling;

    internal MqttImRoom(MqttImClient client, string roomId, long afterSeq)
    {
        _client = client;
        RoomId = roomId;
        _lastSeq = afterSeq;
        _baselineKnown = afterSeq > 0;
    }

    /// <summary>The room's id (its topic is <c>room/{RoomId}</c>).</summary>
    public string RoomId { get; }

    /// <summary>The highest room seq handed to the reader; pass it to <see cref="MqttImRooms.JoinAsync"/> to resume later.</summary>
    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                return _lastSeq;
            }
        }
    }

    /// <summary>Viewers across the cluster, as of the latest frame that carried the count.</summary>
    public long Viewers { get; private set; }

    /// <summary>Likes in the room so far.</summary>
    public long LikesTotal { get; private set; }

    /// <summary>The room was closed by an operator; no more frames come.</summary>
    public bool Closed { get; private set; }

    /// <summary>Every frame as it arrives (join/leave news, likes, sampled-out counts), before its messages are read.</summary>
    public event Action<RoomFrame>? FrameReceived;

    /// <summary>The room's messages for a single reader; completes when the room is left or closed.</summary>
    public IAsyncEnumerable<RoomMessage> ReadMessagesAsync(CancellationToken cancellationToken = default) => _messages.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Sends danmaku (ephemeral: sampled when the room is over its rate).</summary>
    public Task SendChatAsync(string text, CancellationToken cancellationToken = default) =>
        SendAsync(new RoomSend { Kind = "chat", Text = text, ClientMsgId = Guid.NewGuid().ToString("N") }, cancellationToken);

    /// <summary>Sends a gift; returns its room seq (MQTT 5; 0 on 3.1.1, where the gift still arrives with its seq in a frame).</summary>
    public Task<long> SendGiftAsync(string giftId, int count = 1, CancellationToken cancellationToken = default) =>
        SendAsync(new RoomSend { Kind = "gift", GiftId = giftId, GiftCount = count, ClientMsgId = Guid.NewGuid().ToString("N") }, cancellationToken);

    /// <summary>Likes; they arrive summed in the frames' counts.</summary>
    public Task LikeAsync(int count = 1, CancellationToken cancellationToken = default) =>
        SendAsync(new RoomSend { Kind = "like", LikeCount = count }, cancellationToken);

    /// <summary>Sends any room message; refusals (muted, banned, rate_limited, slow_mode …) throw <see cref="MqttImSendException"/> on MQTT 5.</summary>
    public Task<long> SendAsync(RoomSend send, CancellationToken cancellationToken = default) => _client.SendToRoomAsync(RoomId, send, cancellationToken);

    /// <summary>Gifts and system messages after <paramref name="afterSeq"/>, every page.</summary>
    public Task<IReadOnlyList<RoomMessage>> ReplayAsync(long afterSeq, CancellationToken cancellationToken = default) =>
        _client.ReplayRoomAsync(RoomId, afterSeq, cancellationToken);

    /// <summary>Unsubscribes; the message stream completes.</summary>
    public Task LeaveAsync(CancellationToken cancellationToken = default) => _client.LeaveRoomAsync(this, cancellationToken);

    internal void OnFrame(RoomFrame frame)
    {
        if (frame.Viewers > 0 || frame.JoinedCount > 0 || frame.LeftCount > 0)
        {
            Viewers = frame.Viewers;
        }

        LikesTotal = Math.Max(LikesTotal, frame.LikesTotal);
        try
        {
            FrameReceived?.Invoke(frame);
        }
        catch (Exception)
        {
            // An app handler's failure must not stop the room stream.
        }

        var gap = false;
        lock (_gate)
        {
            foreach (var message in frame.Messages)
            {
                if (message.Seq == 0)
                {
                    _messages.Writer.TryWrite(message);
                }
                else if (message.Seq > _lastSeq)
                {
                    _ahead[message.Seq] = message;
                }
            }

            // A room joined without a resume point starts with what its first frame brings (no history).
            if (!_baselineKnown)
            {
                _baselineKnown = true;
                _lastSeq = _ahead.Count > 0 ? _ahead.Keys.First() - 1 : frame.LastSeq;
            }

            FlushContiguous();
            gap = _ahead.Count > 0 || frame.LastSeq > _lastSeq;
        }

        if (frame.Closed)
        {
            Closed = true;
            Complete();
            return;
        }

        if (gap)
        {
            _ = FillAsync();
        }
    }

    /// <summary>After a (re)join: fetch what was missed since <see cref="LastSeq"/>.</summary>
    internal Task CatchUpAsync() => _baselineKnown ? FillAsync() : Task.CompletedTask;

    internal void Complete() => _messages.Writer.TryComplete();

    private async Task FillAsync()
    {
        if (Interlocked.Exchange(ref _filling, 1) != 0)
        {
            return;
        }

        try
        {
            var missed = await ReplayAsync(LastSeq).ConfigureAwait(false);
            lock (_gate)
            {
                foreach (var message in missed.Where(m => m.Seq > _lastSeq))
                {
                    _ahead[message.Seq] = message;
                }

                FlushContiguous();
                // Anything still ahead of a hole the store no longer has (trimmed): continue from there.
                if (_ahead.Count > 0)
                {
                    _lastSeq = _ahead.Keys.First() - 1;
                    FlushContiguous();
                }
            }
        }
        catch (Exception ex) when (ex is MqttImRpcException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            _client.ReportRoomError(ex);
        }
        finally
        {
            Volatile.Write(ref _filling, 0);
        }
    }

    private void FlushContiguous()
    {
        while (_ahead.Remove(_lastSeq + 1, out var next))
        {
            _lastSeq = next.Seq;
            _messages.Writer.TryWrite(next);
        }
    }
}
