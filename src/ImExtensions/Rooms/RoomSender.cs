using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Moderation;
using MqttIm.ImExtensions.Rooms.Store;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// Takes one room message from a viewer (MQTT) or a back-end (HTTP): moderation (ban, mute, mute-all, slow mode,
/// per-user rate, content filter), then by class: gift/system get a seq, are carried and stored for replay before the
/// answer; chat is carried as is (sampled later, per frame); likes are summed and carried once per window.
/// </summary>
internal sealed class RoomSender(
    RoomCatalog catalog,
    IRoomBus bus,
    IRoomStore store,
    IContentFilter filter,
    RoomLikeCounter likes,
    IOptions<RoomOptions> options,
    TimeProvider time)
{
    private readonly RoomOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, SenderState> _senders = new(StringComparer.Ordinal);

    public async Task<RoomSendResult> SendAsync(string roomId, string senderId, RoomSend send, bool fromBackend, CancellationToken cancellationToken)
    {
        var kind = send.Kind.Length == 0 ? RoomKinds.Chat : send.Kind.ToLowerInvariant();
        if (kind is not (RoomKinds.Chat or RoomKinds.Gift or RoomKinds.Like or RoomKinds.System))
        {
            return RoomSendResult.Refused(UplinkRejection.InvalidPayload($"unknown room message kind '{send.Kind}': chat, gift, like or system"));
        }

        if (kind == RoomKinds.System && !fromBackend)
        {
            return RoomSendResult.Refused(UplinkRejection.NotAuthorized("system messages are sent by back-ends over HTTP only"));
        }

        var room = await catalog.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        if (room is null || room.Closed)
        {
            return RoomSendResult.Refused(new UplinkRejection(RejectionKind.NotAuthorized, "room_unavailable", $"room {roomId} does not exist or is closed"));
        }

        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!fromBackend)
        {
            if (room.BannedUserIds.Contains(senderId))
            {
                return RoomSendResult.Refused(new UplinkRejection(RejectionKind.NotAuthorized, "banned", $"user {senderId} is banned from room {roomId}"));
            }

            if (room.AllMuted || (room.MutedUntilMs.TryGetValue(senderId, out var until) && until > nowMs))
            {
                return RoomSendResult.Refused(UplinkRejection.Muted(room.AllMuted ? $"room {roomId} is muted" : $"user {senderId} is muted in room {roomId}"));
            }
        }

        switch (kind)
        {
            case RoomKinds.Like:
                var count = send.LikeCount == 0 ? 1 : send.LikeCount;
                if (count is < 1 or > 100)
                {
                    return RoomSendResult.Refused(UplinkRejection.InvalidPayload("like_count must be 1-100"));
                }

                likes.Add(roomId, count);
                RoomMetrics.MessagesAccepted.WithLabels(kind).Inc();
                return RoomSendResult.Accepted(0);

            case RoomKinds.Gift when send.GiftId.Length == 0:
                return RoomSendResult.Refused(UplinkRejection.InvalidPayload("a gift needs gift_id"));

            case RoomKinds.Chat or RoomKinds.System when send.Text.Length == 0:
                return RoomSendResult.Refused(UplinkRejection.InvalidPayload($"a {kind} message needs text"));
        }

        if (send.Text.Length > _options.MaxTextLength)
        {
            return RoomSendResult.Refused(new UplinkRejection(RejectionKind.QuotaExceeded, "text_too_long", $"text is longer than {_options.MaxTextLength} characters"));
        }

        var text = send.Text;
        if (text.Length > 0)
        {
            var verdict = filter.Review(text);
            if (verdict.Rejected)
            {
                return RoomSendResult.Refused(UplinkRejection.ContentRejected(verdict.Reason ?? "the text was refused by the content filter"));
            }

            text = verdict.Text;
        }

        if (kind == RoomKinds.Chat && !fromBackend && Throttle(roomId, senderId, room) is { } throttled)
        {
            return RoomSendResult.Refused(throttled);
        }

        var message = new RoomMessage
        {
            Kind = kind,
            SenderId = senderId,
            ServerTimeMs = nowMs,
            Text = text,
            GiftId = send.GiftId,
            GiftCount = kind == RoomKinds.Gift ? Math.Max(1, send.GiftCount) : 0,
            ClientMsgId = send.ClientMsgId,
        };
        RoomMetrics.MessagesAccepted.WithLabels(kind).Inc();
        if (!RoomKinds.IsReliable(kind))
        {
            await bus.PublishAsync(new RoomEnvelope { RoomId = roomId, Message = message }, cancellationToken).ConfigureAwait(false);
            return RoomSendResult.Accepted(0);
        }

        var seq = await bus.PublishReliableAsync(roomId, message, cancellationToken).ConfigureAwait(false);
        await store.AppendReplayAsync(roomId, message, cancellationToken).ConfigureAwait(false);
        return RoomSendResult.Accepted(seq);
    }

    /// <summary>Forgets senders idle for a minute, so the table holds only recent senders.</summary>
    public void Sweep()
    {
        var now = time.GetTimestamp();
        foreach (var (key, state) in _senders)
        {
            if (time.GetElapsedTime(state.LastSentAt, now) > TimeSpan.FromMinutes(1))
            {
                _senders.TryRemove(key, out _);
            }
        }
    }

    private UplinkRejection? Throttle(string roomId, string senderId, RoomInfo room)
    {
        var state = _senders.GetOrAdd(roomId + "\n" + senderId, _ => new SenderState(_options.UserMessagesPerSecond > 0
            ? new TokenBucket(_options.UserMessagesPerSecond, _options.UserBurst, time)
            : null));
        var now = time.GetTimestamp();
        lock (state)
        {
            if (room.SlowModeSeconds > 0 && state.LastSentAt != 0 && time.GetElapsedTime(state.LastSentAt, now) < TimeSpan.FromSeconds(room.SlowModeSeconds))
            {
                return new UplinkRejection(RejectionKind.QuotaExceeded, "slow_mode", $"room {roomId} is in slow mode: one message per {room.SlowModeSeconds} s");
            }

            if (state.Bucket is { } bucket && !bucket.TryTake())
            {
                return UplinkRejection.RateLimited($"more than {_options.UserMessagesPerSecond} room messages per second");
            }

            state.LastSentAt = now;
            return null;
        }
    }

    private sealed class SenderState(TokenBucket? bucket)
    {
        public TokenBucket? Bucket { get; } = bucket;

        public long LastSentAt { get; set; }
    }
}

/// <summary>A room send's outcome: accepted (with the room seq of a gift/system message) or refused.</summary>
internal readonly record struct RoomSendResult(UplinkRejection? Rejection, long Seq)
{
    public static RoomSendResult Accepted(long seq) => new(null, seq);

    public static RoomSendResult Refused(UplinkRejection rejection) => new(rejection, 0);
}
