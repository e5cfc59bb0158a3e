/**
 * The generative-UI cards of the `icp_search` graph, by the name the graph pushes them
 * under (langgraph.json maps the graph to this module; `langgraph dev` bundles it and
 * serves it at POST /ui/icp_search, and agent-chat-ui renders each card with
 * LoadExternalComponent under the reply it belongs to).
 */
import type { JSX } from "react";
import JobCard from "./JobCard";
import LeadsCard from "./LeadsCard";
import type { CardName, CardProps } from "./props";
import SearchCard from "./SearchCard";

const cards: { [Name in CardName]: (props: CardProps[Name]) => JSX.Element } = {
  leads: LeadsCard,
  job: JobCard,
  search: SearchCard,
};

export default cards;
