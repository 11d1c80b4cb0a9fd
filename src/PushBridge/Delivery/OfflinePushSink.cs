using System.Threading.Channels;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.PushBridge.Diagnostics;
using MqttIm.PushBridge.Scheduling;

namespace MqttIm.PushBridge.Delivery;

/// <summary>
/// The push bridge's end of <see cref="IOfflineRecipientSink"/>: turns reports into intake items on a bounded queue (the
/// delivery loop never waits on push work). Messages and notifications push; recalls, edits and group events do not.
/// Priority: notifications keep theirs, 1:1 chat is P1, group chat P2 (a mention of the user: P1).
/// </summary>
internal sealed class OfflinePushSink(PushOptions options) : IOfflineRecipientSink
{
    private readonly Channel<Intake> _queue = Channel.CreateBounded<Intake>(new BoundedChannelOptions(100_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public ChannelReader<Intake> Reader => _queue.Reader;

    /// <summary>Only with push on and at least one vendor app configured: otherwise no push could be sent, so the delivery path skips its look-ups.</summary>
    public bool IsActive { get; } = options.Enabled && options.Apns.Count + options.Fcm.Count + options.Hms.Count > 0;

    public void RecipientOffline(string userId, ChatMessage message)
    {
        if (!IsActive || message.Kind is not (MessageKind.Normal or MessageKind.Notification))
        {
            return;
        }

        var mentioned = message.Ext.TryGetValue("mentions", out var mentions) && mentions.Split(',', StringSplitOptions.TrimEntries).Contains(userId);
        var priority = message.Kind == MessageKind.Notification ? Math.Clamp(message.Priority, 0, 3) : message.GroupId.Length == 0 || mentioned ? 1 : 2;
        var title = message.Kind == MessageKind.Notification ? message.Title
            : message.GroupId.Length > 0 ? $"{message.SenderId} ({message.GroupId})" : message.SenderId;
        var offline = new OfflineMessage(userId, message.ServerMsgId, message.ConversationId, message.SenderId, message.GroupId, title,
            message.Text, priority, message.Kind == MessageKind.Notification);
        if (!_queue.Writer.TryWrite(new Intake(offline, null)))
        {
            PushMetrics.Dropped.Inc();
        }
    }

    public void DeviceOnline(string userId, string clientId)
    {
        if (IsActive && !_queue.Writer.TryWrite(new Intake(null, userId)))
        {
            PushMetrics.Dropped.Inc();
        }
    }

    /// <summary>A device of the user came online on another node of the cluster (its jobs here are cancelled too).</summary>
    public void DeviceOnlineElsewhere(string userId)
    {
        if (IsActive && !_queue.Writer.TryWrite(new Intake(null, userId, FromOtherNode: true)))
        {
            PushMetrics.Dropped.Inc();
        }
    }

    /// <summary>Either a missed message or a user whose device came online (here, or on another node).</summary>
    internal sealed record Intake(OfflineMessage? Message, string? OnlineUserId, bool FromOtherNode = false);
}
