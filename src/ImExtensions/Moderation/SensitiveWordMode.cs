namespace MqttIm.ImExtensions.Moderation;

/// <summary>What the sensitive-word filter does with a text that contains a configured word.</summary>
public enum SensitiveWordMode
{
    /// <summary>The send is refused (<c>PayloadFormatInvalid</c>, <c>SendError</c> code <c>content_rejected</c>).</summary>
    Reject,

    /// <summary>Every character of every match is replaced by <c>*</c> and the message is stored.</summary>
    Mask,
}
