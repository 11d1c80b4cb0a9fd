namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// May this user send to this group, answered by Groups. Messaging owns the question so that it need not know groups:
/// Groups stands above Messaging (its notices go through the commit).
/// </summary>
internal interface IGroupSendPolicy
{
    ValueTask<GroupSendStanding> CheckAsync(string groupId, string userId, CancellationToken cancellationToken);
}

/// <summary>
/// A sender's standing in a group. <see cref="Refusal"/> (no such group, dissolved, not a member) is answered before the
/// payload is read, so a non-member learns only that; <see cref="Muted"/> after it, so a bad payload is reported first.
/// </summary>
internal readonly record struct GroupSendStanding(string ConversationId, UplinkRejection? Refusal, UplinkRejection? Muted);
