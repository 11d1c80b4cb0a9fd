using MqttIm.ImExtensions.Storage;

namespace MqttIm.PushBridge.Delivery;

/// <summary>The badge a push carries: the user's total unread, read when the push is sent.</summary>
public interface IBadgeCounter
{
    Task<int> TotalUnreadAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>Total unread from the conversation store (muted conversations count too: the badge is the app icon's number).</summary>
internal sealed class ConversationBadgeCounter(IConversationStore conversations) : IBadgeCounter
{
    public async Task<int> TotalUnreadAsync(string userId, CancellationToken cancellationToken) =>
        (int)Math.Min(int.MaxValue, (await conversations.GetAllAsync(userId, cancellationToken).ConfigureAwait(false)).Sum(c => c.Unread));
}
