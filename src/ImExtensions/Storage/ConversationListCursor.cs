using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace MqttIm.ImExtensions.Storage;

/// <summary>
/// Where a conversation-list page ends: the sort key of its last row (pinned, last activity, conversation id). Clients
/// get it as an opaque string and hand it back for the next page.
/// </summary>
public sealed record ConversationListCursor(bool Pinned, long LastActivityMs, string ConversationId)
{
    private const string Version = "v1";

    public static ConversationListCursor After(ConversationState state) => new(state.Pinned, state.LastActivityMs, state.ConversationId);

    /// <summary>base64url of <c>v1|{0|1}|{lastActivityMs}|{conversationId}</c>.</summary>
    public string Encode() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{Version}|{(Pinned ? 1 : 0)}|{LastActivityMs}|{ConversationId}")));

    public static bool TryParse(string text, out ConversationListCursor? cursor)
    {
        cursor = null;
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text)).Split('|', 4);
            if (parts.Length == 4 && parts[0] == Version && parts[1] is "0" or "1"
                && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var activity) && parts[3].Length > 0)
            {
                cursor = new ConversationListCursor(parts[1] == "1", activity, parts[3]);
            }
        }
        catch (FormatException)
        {
        }

        return cursor is not null;
    }
}
