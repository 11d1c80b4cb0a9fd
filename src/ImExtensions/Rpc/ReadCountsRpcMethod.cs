using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Rpc;

/// <summary>
/// <c>im/rpc/read_counts</c>: for small groups, how many members (the message's sender not counted) have read each seq.
/// Derived from read positions, so no per-message receipt rows are written.
/// </summary>
internal sealed class ReadCountsRpcMethod(IConversationStore conversations, IMessageStore messages, GroupDirectory groups, IOptions<GroupOptions> options) : IRpcMethod
{
    private const int MaxSeqsPerRequest = 200;

    public string Name => "read_counts";

    public async Task<string> InvokeAsync(RpcCall call, RpcResponse response, CancellationToken cancellationToken)
    {
        var request = call.Decode(ReadCountsRequest.Parser, response);
        if (request is null)
        {
            return "";
        }

        var groupId = GroupConversations.GroupIdOf(request.ConversationId);
        var snapshot = groupId is null ? null : await groups.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (snapshot?.Find(call.Caller.UserId) is null)
        {
            response.Error = RpcErrors.NotAuthorized("read counts are for members of a group conversation");
            return request.RequestId;
        }

        if (snapshot.Members.Count > options.Value.SmallGroupMaxMembers || request.Seqs.Count > MaxSeqsPerRequest)
        {
            response.Error = RpcErrors.InvalidRequest($"read counts exist for groups up to {options.Value.SmallGroupMaxMembers} members, {MaxSeqsPerRequest} seqs a request");
            return request.RequestId;
        }

        var positions = await conversations.GetReadPositionsAsync(request.ConversationId, cancellationToken).ConfigureAwait(false);
        var result = new ReadCountsResponse { ConversationId = request.ConversationId, MemberCount = snapshot.Members.Count };
        foreach (var seq in request.Seqs.Distinct())
        {
            var sender = (await messages.GetAsync(request.ConversationId, seq, cancellationToken).ConfigureAwait(false))?.SenderId;
            result.ReadCounts[seq] = positions.Count(p => p.Value >= seq && p.Key != sender && snapshot.Find(p.Key) is not null);
        }

        response.ReadCounts = result;
        return request.RequestId;
    }
}
