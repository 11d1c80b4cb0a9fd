namespace MqttIm.PushBridge.Scheduling;

/// <summary>
/// A stored message one user missed live, as the scheduler needs it. <see cref="Priority"/>: 0 (P0, immediate) to 3;
/// <see cref="Mention"/>: the user is named in the message (large groups push mentions only).
/// </summary>
public sealed record OfflineMessage(
    string UserId,
    string MessageId,
    string ConversationId,
    string SenderId,
    string GroupId,
    string Title,
    string Text,
    int Priority,
    bool IsNotification);
