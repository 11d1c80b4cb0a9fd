using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Notifications;

/// <summary>
/// Business notifications from back-end services (seed 001): each recipient gets a NOTIFICATION event in their own
/// <c>notify:{userId}</c> conversation, seq'd and delivered like a message, with priority P0–P3 and a type for the push bridge.
/// </summary>
internal sealed class NotificationService(MessageCommitQueue commitQueue, GroupDirectory groups)
{
    public const string SystemSender = "system";
    public const int MaxRecipients = 10_000;

    public async Task<IReadOnlyList<ChatMessage>> SendAsync(NotificationRequest request, CancellationToken cancellationToken)
    {
        var recipients = new HashSet<string>(request.UserIds, StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(request.GroupId))
        {
            var snapshot = await groups.GetAsync(request.GroupId, cancellationToken).ConfigureAwait(false)
                ?? throw new ArgumentException($"no group '{request.GroupId}'");
            recipients.UnionWith(snapshot.Members.Keys);
        }

        if (recipients.Count == 0 || recipients.Count > MaxRecipients)
        {
            throw new ArgumentException($"a notification needs 1 to {MaxRecipients} recipients");
        }

        if (recipients.FirstOrDefault(id => !UserIds.IsValid(id)) is { } bad)
        {
            throw new ArgumentException($"invalid user id '{bad}': {UserIds.Rule}");
        }

        if (request.Priority is < 0 or > 3 || string.IsNullOrWhiteSpace(request.Type) || (string.IsNullOrEmpty(request.Text) && string.IsNullOrEmpty(request.Title)))
        {
            throw new ArgumentException("priority is 0 (P0) to 3 (P3); type and a title or text are required");
        }

        // All drafts are queued at once so the commit loop writes them in few transactions.
        var sends = recipients.Select(userId => commitQueue.SubmitAsync(new PendingSend(Draft(request, userId), SenderClientId: ""), cancellationToken)).ToList();
        var outcomes = await Task.WhenAll(sends).ConfigureAwait(false);
        return outcomes.Select(o => o.Message).ToList();
    }

    private static ChatMessage Draft(NotificationRequest request, string userId)
    {
        var draft = new ChatMessage
        {
            ConversationId = ConversationIds.Notifications(userId),
            Kind = MessageKind.Notification,
            SenderId = SystemSender,
            RecipientId = userId,
            Priority = request.Priority,
            NotificationType = request.Type,
            Title = request.Title ?? "",
            Text = request.Text ?? "",
            ContentType = "notification",
        };
        foreach (var (key, value) in request.Data ?? new Dictionary<string, string>())
        {
            draft.Ext[key] = value;
        }

        return draft;
    }
}

/// <summary>What a back-end asks to notify: users and/or every member of a group.</summary>
public sealed record NotificationRequest(
    IReadOnlyList<string> UserIds,
    string? GroupId,
    int Priority,
    string Type,
    string? Title,
    string? Text,
    IReadOnlyDictionary<string, string>? Data);
